// Cross-check: a ticker delivers ticks until stopped, and none after.
package main

import (
	"fmt"
	"time"
)

func main() {
	t := time.NewTicker(5 * time.Millisecond)
	n := 0
	for range 5 {
		<-t.C
		n++
	}
	t.Stop()
	time.Sleep(20 * time.Millisecond)
	select {
	case <-t.C:
		fmt.Println("tick after stop")
	default:
	}
	fmt.Println(n, "ticks; len/cap", len(t.C), cap(t.C))
}
