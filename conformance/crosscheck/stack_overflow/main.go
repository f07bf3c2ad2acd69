// Cross-check: infinite recursion; the stack limit is set to gort's
// default goroutine stack so that both report the same limit.
package main

import "runtime/debug"

func f(n int) int {
	var buf [256]byte
	buf[n%256] = byte(n)
	return f(n+1) + int(buf[3])
}

func main() {
	debug.SetMaxStack(8 << 20)
	f(0)
}
