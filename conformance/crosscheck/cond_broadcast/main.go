// Cross-check: Broadcast wakes every goroutine waiting on a Cond.
package main

import (
	"fmt"
	"runtime"
	"sync"
)

func main() {
	var mu sync.Mutex
	c := sync.NewCond(&mu)
	ready, woken := 0, 0
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mu.Lock()
			ready++
			c.Wait()
			woken++
			mu.Unlock()
		}()
	}
	for {
		mu.Lock()
		if ready == 5 {
			break
		}
		mu.Unlock()
		runtime.Gosched()
	}
	c.Broadcast()
	mu.Unlock()
	wg.Wait()
	fmt.Println("woken:", woken)
}
