// Cross-check: a goroutine woken by the one that finishes runs next
// (runnext), ahead of older runnable goroutines: goroutine 1 never runs.
package main

import (
	"fmt"
	"runtime"
)

func main() {
	runtime.GOMAXPROCS(1)
	done := make(chan bool)
	var o []int
	go func() { o = append(o, 1) }()
	go func() { o = append(o, 2); done <- true }()
	<-done
	o = append(o, 3)
	fmt.Println(o)
}
