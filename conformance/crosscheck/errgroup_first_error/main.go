// Cross-check: an errgroup's Wait returns the first error; that error
// cancels the group's context (its cause), and the others see it; a limit
// of 2 keeps at most two functions running; a weighted semaphore serves
// a large request before later small ones.
package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
)

func main() {
	g, ctx := errgroup.WithContext(context.Background())
	first := make(chan struct{})
	g.Go(func() error {
		close(first)
		return errors.New("part 1 failed")
	})
	g.Go(func() error {
		<-first
		<-ctx.Done()
		return errors.New("part 2 saw: " + context.Cause(ctx).Error())
	})
	fmt.Println("wait:", g.Wait())
	fmt.Println("ctx:", ctx.Err(), "/", context.Cause(ctx))

	var g2 errgroup.Group
	g2.SetLimit(2)
	var active, most atomic.Int32
	for i := 0; i < 20; i++ {
		g2.Go(func() error {
			n := active.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			active.Add(-1)
			return nil
		})
	}
	fmt.Println("limited wait:", g2.Wait(), "most at once:", most.Load())
	fmt.Println("try after wait:", g2.TryGo(func() error { return nil }))
	g2.Wait()

	sem := semaphore.NewWeighted(3)
	sem.Acquire(context.Background(), 2)
	order := make(chan string, 2)
	go func() {
		sem.Acquire(context.Background(), 3)
		order <- "large"
		sem.Release(3)
	}()
	for sem.TryAcquire(1) {
		sem.Release(1)
		time.Sleep(time.Millisecond)
	}
	go func() {
		sem.Acquire(context.Background(), 1)
		order <- "small"
		sem.Release(1)
	}()
	time.Sleep(10 * time.Millisecond)
	sem.Release(2)
	fmt.Println("first served:", <-order, "then:", <-order)
	tctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	sem.Acquire(context.Background(), 3)
	fmt.Println("acquire with timeout:", sem.Acquire(tctx, 1))
}
