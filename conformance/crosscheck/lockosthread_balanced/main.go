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
	// The goroutine may still be on its way out after its send (at
	// GOMAXPROCS >= 2 main can run at once on another P): count after it
	// has gone, as the gort twin does.
	for runtime.NumGoroutine() > 1 {
		runtime.Gosched()
	}
	fmt.Println(runtime.NumGoroutine())
}
