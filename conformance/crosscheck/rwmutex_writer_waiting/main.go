// Cross-check: a writer waiting for an RWMutex keeps new readers out
// (TryRLock fails) until it has had its turn.
package main

import (
	"fmt"
	"sync"
	"time"
)

func main() {
	var rw sync.RWMutex
	rw.RLock()
	done := make(chan bool)
	go func() {
		rw.Lock()
		rw.Unlock()
		done <- true
	}()
	// Long enough for the writer to be waiting.
	time.Sleep(200 * time.Millisecond)
	fmt.Println("reader while a writer waits:", rw.TryRLock())
	rw.RUnlock()
	<-done
	fmt.Println("writer done")
	fmt.Println("reader after:", rw.TryRLock())
}
