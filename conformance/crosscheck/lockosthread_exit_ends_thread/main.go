// Cross-check: a goroutine that exits while locked to its thread takes the
// thread with it (the thread ends; Go never runs another goroutine on it).
package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"
)

func main() {
	// Keeps the goroutine off the main thread, which Go would wedge
	// instead of ending.
	runtime.LockOSThread()
	tids := make(chan int)
	go func() {
		runtime.LockOSThread()
		tids <- syscall.Gettid()
	}()
	tid := <-tids
	gone := false
	for i := 0; i < 200 && !gone; i++ {
		time.Sleep(10 * time.Millisecond)
		_, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", tid))
		gone = err != nil
	}
	fmt.Println("thread gone:", gone)
}
