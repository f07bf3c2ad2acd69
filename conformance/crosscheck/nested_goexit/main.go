// Cross-check: Goexit deep in a call chain unwinds every frame's deferred
// calls, innermost first, and the goroutine's creator carries on.
package main

import (
	"fmt"
	"runtime"
)

func level(n int) {
	defer fmt.Println("leave", n)
	if n == 3 {
		runtime.Goexit()
	}
	level(n + 1)
	fmt.Println("unreachable", n)
}

func main() {
	done := make(chan bool)
	go func() {
		defer func() { done <- true }()
		level(1)
	}()
	<-done
	fmt.Println("main carries on")
}
