// Cross-check: a deferred call that recovers a panic and then calls
// Goexit ends its goroutine quietly; main's Goexit then ends in Go's
// deadlock report, exit 2. (Goexit in a deferred call that does not
// recover has no Rust form: a destructor cannot end a Rust unwind; see
// crash.rs test_goexit_in_panic.)
package main

import "runtime"

func main() {
	go func() {
		defer func() {
			recover()
			runtime.Goexit()
		}()
		panic("hello")
	}()
	runtime.Goexit()
}
