// Cross-check: new goroutines go to runnext (the newest first), the older
// ones to the local queue; Gosched puts main on the global queue.
package main

import (
	"fmt"
	"runtime"
)

func main() {
	runtime.GOMAXPROCS(1)
	var order []string
	for _, n := range []string{"A", "B", "C"} {
		go func() { order = append(order, n) }()
	}
	runtime.Gosched()
	order = append(order, "main")
	fmt.Println(order)
}
