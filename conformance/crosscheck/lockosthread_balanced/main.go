// Cross-check: LockOSThread nests, UnlockOSThread undoes one level, extra
// unlocks are no-ops, and a goroutine with balanced calls exits normally.
package main

import (
	"fmt"
	"runtime"
)

func main() {
	done := make(chan bool)
	go func() {
		runtime.LockOSThread()
		runtime.LockOSThread()
		runtime.UnlockOSThread()
		runtime.Gosched()
		runtime.UnlockOSThread()
		runtime.UnlockOSThread()
		fmt.Println("balanced")
		done <- true
	}()
	<-done
	fmt.Println(runtime.NumGoroutine())
}
