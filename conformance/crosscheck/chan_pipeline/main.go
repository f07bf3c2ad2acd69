// Cross-check: a three-stage pipeline over unbuffered channels.
package main

import "fmt"

func main() {
	gen := make(chan int)
	sq := make(chan int)
	go func() {
		for i := 1; i <= 1000; i++ {
			gen <- i
		}
		close(gen)
	}()
	go func() {
		for v := range gen {
			sq <- v * v
		}
		close(sq)
	}()
	sum, n := 0, 0
	for v := range sq {
		sum += v
		n++
	}
	fmt.Println(n, sum)
}
