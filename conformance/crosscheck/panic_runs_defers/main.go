// Cross-check: a panicking goroutine runs its deferred calls (innermost
// first) before the program dies with the panic report.
package main

import "fmt"

func main() {
	done := make(chan bool)
	go func() {
		defer fmt.Println("outer deferred")
		func() {
			defer fmt.Println("inner deferred")
			panic("boom in goroutine")
		}()
		done <- true
	}()
	<-done
}
