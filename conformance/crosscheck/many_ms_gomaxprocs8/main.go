// Cross-check: at GOMAXPROCS=8, sixteen goroutines each locked to a
// thread of its own and all blocked at once need sixteen Ms (on Plan 9,
// sixteen processes started by rfork); each sums a range, and main
// collects the sums once all have run.
package main

import (
	"fmt"
	"runtime"
	"sync"
)

func main() {
	runtime.GOMAXPROCS(8)
	const n = 16
	var ready, done sync.WaitGroup
	sums := make([]int, n)
	start := make(chan bool)
	for i := 0; i < n; i++ {
		ready.Add(1)
		done.Add(1)
		go func(i int) {
			defer done.Done()
			runtime.LockOSThread()
			ready.Done()
			<-start
			s := 0
			for k := i * 1000; k < (i+1)*1000; k++ {
				s += k
			}
			sums[i] = s
			runtime.UnlockOSThread()
		}(i)
	}
	ready.Wait()
	close(start)
	done.Wait()
	total := 0
	for _, s := range sums {
		total += s
	}
	fmt.Println("goroutines:", n, "total:", total)
}
