// Cross-check: goroutines sleeping different durations wake in order.
package main

import (
	"fmt"
	"time"
)

func main() {
	c := make(chan int)
	for _, ms := range []int{50, 10, 40, 20, 30} {
		go func(ms int) {
			time.Sleep(time.Duration(ms) * time.Millisecond)
			c <- ms
		}(ms)
	}
	for i := 0; i < 5; i++ {
		fmt.Println(<-c)
	}
}
