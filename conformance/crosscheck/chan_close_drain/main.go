// Cross-check: a closed buffered channel delivers its values, then the zero
// value with ok == false.
package main

import "fmt"

func main() {
	c := make(chan int, 4)
	c <- 10
	c <- 20
	c <- 30
	close(c)
	fmt.Println(len(c), cap(c))
	for i := 0; i < 5; i++ {
		v, ok := <-c
		fmt.Println(v, ok)
	}
	fmt.Println(len(c), cap(c))
}
