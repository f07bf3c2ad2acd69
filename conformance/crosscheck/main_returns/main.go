// Cross-check: main returning ends the program at once, exit 0, while
// another goroutine still runs.
package main

import (
	"fmt"
	"runtime"
)

func main() {
	runtime.GOMAXPROCS(1)
	go func() {
		for {
			runtime.Gosched()
		}
	}()
	c := make(chan int)
	go func() { c <- 21 * 2 }()
	fmt.Println("answer", <-c)
}
