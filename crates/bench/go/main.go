// Go side of gort's side-by-side benchmarks: `main <workload> <n>` runs one
// workload once and prints `result <value>` (ns per operation, or KiB per
// goroutine for the memory workloads). GOMAXPROCS comes from the
// environment.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func report(v float64) { fmt.Printf("result %f\n", v) }

func perOp(d time.Duration, ops int) { report(float64(d.Nanoseconds()) / float64(ops)) }

// runParallel runs body on one goroutine per P (the shape of
// testing.B.RunParallel) and returns the time until the last one finished.
func runParallel(body func()) time.Duration {
	var wg sync.WaitGroup
	start := time.Now()
	for p := 0; p < runtime.GOMAXPROCS(-1); p++ {
		wg.Go(body)
	}
	wg.Wait()
	return time.Since(start)
}

func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		panic(err)
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func skynet(c chan int, num, size, div int) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int)
	sum := 0
	for i := 0; i < div; i++ {
		go skynet(rc, num+i*(size/div), size/div, div)
	}
	for i := 0; i < div; i++ {
		sum += <-rc
	}
	c <- sum
}

func main() {
	if netMain(os.Args[1:]) {
		return
	}
	w := os.Args[1]
	n, _ := strconv.Atoi(os.Args[2])
	switch w {
	case "spawn_join":
		start := time.Now()
		var wg sync.WaitGroup
		wg.Add(n)
		for i := 0; i < n; i++ {
			go func() { wg.Done() }()
		}
		wg.Wait()
		perOp(time.Since(start), n)
	case "spawn_chain":
		done := make(chan bool)
		var f func(int)
		f = func(k int) {
			if k == 0 {
				done <- true
				return
			}
			go f(k - 1)
		}
		start := time.Now()
		go f(n)
		<-done
		perOp(time.Since(start), n)
	case "gosched":
		var wg sync.WaitGroup
		wg.Add(2)
		start := time.Now()
		for j := 0; j < 2; j++ {
			go func() {
				for i := 0; i < n; i++ {
					runtime.Gosched()
				}
				wg.Done()
			}()
		}
		wg.Wait()
		perOp(time.Since(start), 2*n)
	case "skynet":
		c := make(chan int)
		start := time.Now()
		go skynet(c, 0, n, 10)
		sum := <-c
		if sum != n*(n-1)/2 {
			panic(fmt.Sprint("skynet: bad sum ", sum))
		}
		perOp(time.Since(start), n)
	case "pingpong_unbuffered":
		ping, pong := make(chan uint64), make(chan uint64)
		go func() {
			for v := range ping {
				pong <- v + 1
			}
		}()
		start := time.Now()
		var v uint64
		for i := 0; i < n; i++ {
			ping <- v
			v = <-pong
		}
		close(ping)
		perOp(time.Since(start), n)
	case "chan_buffered_1to1", "chan_mpmc_4to4":
		k := 1
		if w == "chan_mpmc_4to4" {
			k = 4
		}
		c := make(chan uint64, 128)
		sums := make(chan uint64, k)
		var wg sync.WaitGroup
		start := time.Now()
		for p := 0; p < k; p++ {
			wg.Go(func() {
				for i := 0; i < n/k; i++ {
					c <- uint64(p*(n/k) + i)
				}
			})
		}
		for j := 0; j < k; j++ {
			go func() {
				var s uint64
				for v := range c {
					s += v
				}
				sums <- s
			}()
		}
		wg.Wait()
		close(c)
		var total uint64
		for j := 0; j < k; j++ {
			total += <-sums
		}
		m := uint64(n / k * k)
		if total != m*(m-1)/2 {
			panic("bad sum")
		}
		perOp(time.Since(start), n/k*k)
	case "mutex_4":
		var mu sync.Mutex
		var x uint64
		var wg sync.WaitGroup
		start := time.Now()
		for p := 0; p < 4; p++ {
			wg.Go(func() {
				for i := 0; i < n/4; i++ {
					mu.Lock()
					x++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		perOp(time.Since(start), n/4*4)
	case "sleepers_100k":
		var wg sync.WaitGroup
		start := time.Now()
		for i := uint64(0); i < uint64(n); i++ {
			wg.Go(func() {
				x := (i * 0x9e3779b97f4a7c15) >> 33
				time.Sleep(time.Duration(x%50001) * time.Microsecond)
			})
		}
		wg.Wait()
		report(float64(time.Since(start).Nanoseconds()) / 1e6)
	case "sleepers_lateness":
		// n goroutines each sleeping a pseudo-random 0-100 ms; the mean
		// lateness of their wake-ups, in microseconds.
		var wg sync.WaitGroup
		var late atomic.Int64
		for i := uint64(0); i < uint64(n); i++ {
			wg.Go(func() {
				x := (i * 0x9e3779b97f4a7c15) >> 33
				d := time.Duration(x%100001) * time.Microsecond
				t := time.Now()
				time.Sleep(d)
				if l := time.Since(t) - d; l > 0 {
					late.Add(int64(l))
				}
			})
		}
		wg.Wait()
		report(float64(late.Load()) / float64(n) / 1e3)
	case "chan_sync":
		// benchmarkChanSync(b, 0) from runtime/chan_test.go.
		const calls = 1000
		batches := int32(n / calls / 2 * 2)
		left := batches
		c := make(chan bool, 2)
		myc := make(chan int)
		start := time.Now()
		for p := 0; p < 2; p++ {
			go func() {
				for {
					i := atomic.AddInt32(&left, -1)
					if i < 0 {
						break
					}
					for g := 0; g < calls; g++ {
						if i%2 == 0 {
							<-myc
							myc <- 0
						} else {
							myc <- 0
							<-myc
						}
					}
				}
				c <- true
			}()
		}
		<-c
		<-c
		perOp(time.Since(start), int(batches)*calls)
	case "chan_prodcons0", "chan_prodcons10", "chan_prodcons100":
		// benchmarkChanProdCons(b, size, 0) from runtime/chan_test.go.
		const calls = 1000
		size, _ := strconv.Atoi(strings.TrimPrefix(w, "chan_prodcons"))
		procs := runtime.GOMAXPROCS(-1)
		batches := int32(n / calls)
		left := batches
		c := make(chan bool, 2*procs)
		myc := make(chan int, size)
		start := time.Now()
		for p := 0; p < procs; p++ {
			go func() {
				for atomic.AddInt32(&left, -1) >= 0 {
					for g := 0; g < calls; g++ {
						myc <- 1
					}
				}
				myc <- 0
				c <- false
			}()
			go func() {
				for <-myc != 0 {
				}
				c <- false
			}()
		}
		for p := 0; p < 2*procs; p++ {
			<-c
		}
		perOp(time.Since(start), int(batches)*calls)
	case "select_uncontended":
		// BenchmarkSelectUncontended: RunParallel, one goroutine per P.
		procs := runtime.GOMAXPROCS(-1)
		per := n / procs
		d := runParallel(func() {
			myc1 := make(chan int, 1)
			myc2 := make(chan int, 1)
			myc1 <- 0
			for i := 0; i < per; i++ {
				select {
				case <-myc1:
					myc2 <- 0
				case <-myc2:
					myc1 <- 0
				}
			}
		})
		perOp(d, per*procs)
	case "select_contended":
		// BenchmarkSelectContended: RunParallel on two shared channels.
		procs := runtime.GOMAXPROCS(-1)
		per := n / procs
		myc1 := make(chan int, procs)
		myc2 := make(chan int, procs)
		d := runParallel(func() {
			myc1 <- 0
			for i := 0; i < per; i++ {
				select {
				case <-myc1:
					myc2 <- 0
				case <-myc2:
					myc1 <- 0
				}
			}
		})
		perOp(d, per*procs)
	case "chan_uncontended":
		// BenchmarkChanUncontended: RunParallel, C = 100.
		const C = 100
		procs := runtime.GOMAXPROCS(-1)
		per := n / procs
		d := runParallel(func() {
			myc := make(chan int, C)
			for i := 0; i < per; i++ {
				for j := 0; j < C; j++ {
					myc <- 0
				}
				for j := 0; j < C; j++ {
					<-myc
				}
			}
		})
		perOp(d, per*procs)
	case "mutex_uncontended", "mutex", "mutex_spin", "waitgroup_uncontended", "once":
		// BenchmarkMutexUncontended, BenchmarkMutex, BenchmarkMutexSpin,
		// BenchmarkWaitGroupUncontended, BenchmarkOnce under RunParallel.
		procs := runtime.GOMAXPROCS(-1)
		per := n / procs
		var shared sync.Mutex
		var once sync.Once
		var acc0, acc1 uint64
		d := runParallel(func() {
			switch w {
			case "mutex_uncontended":
				var mu sync.Mutex
				for i := 0; i < per; i++ {
					mu.Lock()
					mu.Unlock()
				}
			case "mutex":
				for i := 0; i < per; i++ {
					shared.Lock()
					shared.Unlock()
				}
			case "mutex_spin":
				var data [16 << 10]uint64
				for i := 0; i < per; i++ {
					shared.Lock()
					acc0 -= 100
					acc1 += 100
					shared.Unlock()
					for j := 0; j < len(data); j += 4 {
						data[j]++
					}
				}
			case "waitgroup_uncontended":
				var wg sync.WaitGroup
				for i := 0; i < per; i++ {
					wg.Add(1)
					wg.Done()
					wg.Wait()
				}
			default:
				for i := 0; i < per; i++ {
					once.Do(func() {})
				}
			}
		})
		perOp(d, per*procs)
	case "timer_start_stop":
		// BenchmarkStartStop1000 under RunParallel.
		procs := runtime.GOMAXPROCS(-1)
		per := max(n/procs/1000, 1)
		d := runParallel(func() {
			for i := 0; i < per; i++ {
				timers := make([]*time.Timer, 1000)
				for j := range timers {
					timers[j] = time.AfterFunc(time.Hour, func() {})
				}
				for _, t := range timers {
					t.Stop()
				}
			}
		})
		perOp(d, per*procs*1000)
	case "sleep_1ms_overshoot":
		over := 0.0
		for i := 0; i < n; i++ {
			t := time.Now()
			time.Sleep(time.Millisecond)
			over += float64(time.Since(t).Nanoseconds()-1e6) / 1e3
		}
		report(over / float64(n))
	case "parked_rss":
		before := rssBytes()
		c := make(chan int)
		for i := 0; i < n; i++ {
			go func() { <-c }()
		}
		for runtime.NumGoroutine() < n+1 {
			runtime.Gosched()
		}
		after := rssBytes()
		report(float64(after-before) / 1024 / float64(n))
	default:
		fmt.Fprintln(os.Stderr, "unknown workload", w)
		os.Exit(64)
	}
}
