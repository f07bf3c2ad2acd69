// Cross-check: a select over two always-ready channels picks each about
// half the time.
package main

import "fmt"

func main() {
	a := make(chan int, 10001)
	b := make(chan int, 10001)
	for i := 0; i < 10001; i++ {
		a <- 1
		b <- 2
	}
	na := 0
	for i := 0; i < 10000; i++ {
		select {
		case <-a:
			na++
		case <-b:
		}
	}
	fmt.Println(na > 4500 && na < 5500)
}
