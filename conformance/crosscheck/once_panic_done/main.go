// Cross-check: a panicking Once.Do still counts as done.
package main

import (
	"fmt"
	"sync"
)

func main() {
	var once sync.Once
	func() {
		defer func() { fmt.Println("recovered:", recover()) }()
		once.Do(func() { panic("first") })
	}()
	ran := false
	once.Do(func() { ran = true })
	fmt.Println("second Do ran:", ran)
}
