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
	"time"
)

func report(v float64) { fmt.Printf("result %f\n", v) }

func perOp(d time.Duration, ops int) { report(float64(d.Nanoseconds()) / float64(ops)) }

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
