// Cross-check: two thousand timers with deadlines spread over 50 ms each
// fire once and never early; of a thousand more, the half that Stop
// reaches in time never run, and the other half all do.
package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	const n = 2000
	var wg sync.WaitGroup
	var early, fired atomic.Int32
	start := time.Now()
	for i := 0; i < n; i++ {
		d := time.Duration(i%50) * time.Millisecond
		wg.Add(1)
		time.AfterFunc(d, func() {
			if time.Since(start) < d {
				early.Add(1)
			}
			fired.Add(1)
			wg.Done()
		})
	}
	wg.Wait()
	fmt.Println("fired:", fired.Load(), "early:", early.Load())

	var ran atomic.Int32
	var unstopped sync.WaitGroup
	ts := make([]*time.Timer, 1000)
	for i := range ts {
		if i%2 == 1 {
			unstopped.Add(1)
		}
		ts[i] = time.AfterFunc(time.Duration(500+i%50)*time.Millisecond, func() {
			ran.Add(1)
			if i%2 == 1 {
				unstopped.Done()
			}
		})
	}
	stopped := 0
	for i := 0; i < len(ts); i += 2 {
		if ts[i].Stop() {
			stopped++
		}
	}
	unstopped.Wait()
	time.Sleep(100 * time.Millisecond)
	fmt.Println("stopped:", stopped, "ran:", ran.Load())
}
