// Cross-check: a thread-locked main goroutine blocked forever; the header
// says "locked to thread", and locking does not hide the deadlock.
package main

import "runtime"

func main() {
	runtime.LockOSThread()
	select {}
}
