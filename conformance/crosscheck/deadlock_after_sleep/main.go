// Cross-check: a sleeping goroutine delays the deadlock report until it
// has woken and finished.
package main

import (
	"fmt"
	"time"
)

func main() {
	c := make(chan int)
	go func() {
		time.Sleep(20 * time.Millisecond)
		fmt.Println("slept")
	}()
	<-c
}
