// Cross-check: one WaitGroup waited on for three rounds of goroutines.
package main

import (
	"fmt"
	"sync"
)

func main() {
	var wg sync.WaitGroup
	var mu sync.Mutex
	for round := 1; round <= 3; round++ {
		sum := 0
		for i := 1; i <= 5; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mu.Lock()
				sum += i * round
				mu.Unlock()
			}()
		}
		wg.Wait()
		fmt.Println("round", round, "sum", sum)
	}
}
