// Cross-check: goroutines that exit while locked to their threads do not
// stop the program: Linux ends each such thread, Go's Plan 9 port keeps
// it for reuse (proc.go, golang.org/issue/22227), and the work after them
// runs either way.
package main

import (
	"fmt"
	"runtime"
)

func main() {
	// Keeps the goroutines below off the main thread, which Go would
	// wedge instead of ending.
	runtime.LockOSThread()
	done := make(chan int)
	for i := 0; i < 4; i++ {
		go func(i int) {
			runtime.LockOSThread()
			done <- i
		}(i)
		fmt.Println("exited locked:", <-done)
	}
	results := make(chan int)
	for i := 0; i < 8; i++ {
		go func(i int) { results <- i * i }(i)
	}
	sum := 0
	for i := 0; i < 8; i++ {
		sum += <-results
	}
	fmt.Println("sum after:", sum)
}
