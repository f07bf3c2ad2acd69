// Cross-check: ten goroutines call Once.Do; the function runs once and
// every caller returns after it finished.
package main

import (
	"fmt"
	"sync"
	"sync/atomic"
)

func main() {
	var once sync.Once
	var calls, after atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			once.Do(func() { calls.Add(1) })
			if calls.Load() == 1 {
				after.Add(1)
			}
		}()
	}
	wg.Wait()
	fmt.Println("calls:", calls.Load(), "returned after it:", after.Load())
}
