// Cross-check: close wakes every parked receiver with ok == false.
package main

import (
	"fmt"
	"runtime"
)

func main() {
	c := make(chan int)
	res := make(chan bool)
	for i := 0; i < 5; i++ {
		go func() {
			_, ok := <-c
			res <- ok
		}()
	}
	for runtime.NumGoroutine() < 6 {
		runtime.Gosched()
	}
	close(c)
	nok := 0
	for i := 0; i < 5; i++ {
		if !<-res {
			nok++
		}
	}
	fmt.Println(nok, "woken by close")
}
