// Cross-check: Goexit runs the goroutine's deferred calls and skips the
// rest; other goroutines carry on.
package main

import (
	"fmt"
	"runtime"
)

func main() {
	done := make(chan bool)
	go func() {
		defer func() {
			fmt.Println("deferred")
			done <- true
		}()
		runtime.Goexit()
		fmt.Println("unreachable")
	}()
	<-done
	fmt.Println("after")
}
