// Cross-check: NumGoroutine is 1 at start and counts blocked goroutines.
package main

import (
	"fmt"
	"runtime"
)

func main() {
	fmt.Println(runtime.NumGoroutine())
	for i := 0; i < 5; i++ {
		go func() { select {} }()
	}
	runtime.Gosched()
	fmt.Println(runtime.NumGoroutine())
}
