// Cross-check: a panic in OnceFunc's function comes back out of the call
// re-raised (OnceFunc recovers it to remember it): [recovered,
// repanicked], exit 2.
package main

import "sync"

func main() {
	f := sync.OnceFunc(func() { panic("x") })
	f()
}
