// Cross-check: eight producers, one consumer, a counting close.
package main

import "fmt"

func main() {
	c := make(chan int, 16)
	done := make(chan bool)
	for p := 0; p < 8; p++ {
		go func(p int) {
			for i := 0; i < 1000; i++ {
				c <- p*1000 + i
			}
			done <- true
		}(p)
	}
	go func() {
		for p := 0; p < 8; p++ {
			<-done
		}
		close(c)
	}()
	sum, n := 0, 0
	for v := range c {
		sum += v
		n++
	}
	fmt.Println(n, sum)
}
