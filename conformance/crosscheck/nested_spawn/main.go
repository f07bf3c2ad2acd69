// Cross-check: 10 levels of goroutines, each starting the next and waiting
// for its result.
package main

import "fmt"

func level(n int) int {
	if n == 10 {
		return n
	}
	c := make(chan int)
	go func() { c <- level(n + 1) }()
	return n + <-c
}

func main() {
	c := make(chan int)
	go func() { c <- level(1) }()
	fmt.Println("sum", <-c)
}
