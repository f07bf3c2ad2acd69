// Cross-check: 100,000 goroutines each compute a value; main sums them.
package main

import (
	"fmt"
	"sync"
)

func main() {
	const n = 100000
	res := make([]uint64, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := uint64(i)
			res[i] = x * x % 1000003
		}()
	}
	wg.Wait()
	var sum uint64
	for _, v := range res {
		sum += v
	}
	fmt.Println("goroutines", n, "sum", sum)
}
