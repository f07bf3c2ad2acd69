// Cross-check: TryLock takes a free mutex and fails on a held one.
package main

import (
	"fmt"
	"sync"
)

func main() {
	var mu sync.Mutex
	fmt.Println(mu.TryLock())
	fmt.Println(mu.TryLock())
	mu.Unlock()
	fmt.Println(mu.TryLock())
	done := make(chan bool)
	go func() {
		done <- mu.TryLock()
	}()
	fmt.Println("other goroutine:", <-done)
}
