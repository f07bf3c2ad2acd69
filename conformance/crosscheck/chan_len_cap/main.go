// Cross-check: len and cap of a buffered channel as it fills, drains and
// closes; a closed, drained channel yields the zero value and false.
package main

import "fmt"

func main() {
	c := make(chan int, 3)
	fmt.Println(len(c), cap(c))
	c <- 1
	c <- 2
	fmt.Println(len(c), cap(c))
	<-c
	fmt.Println(len(c), cap(c))
	close(c)
	fmt.Println(len(c), cap(c))
	v, ok := <-c
	fmt.Println(v, ok)
	v, ok = <-c
	fmt.Println(v, ok)
	fmt.Println(len(c), cap(c))
}
