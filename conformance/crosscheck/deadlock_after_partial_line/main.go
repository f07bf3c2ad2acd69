// Cross-check: a partial stdout line printed before a fatal error (a
// deadlock) is not lost.
package main

import "fmt"

func main() {
	fmt.Print("waiting...")
	c := make(chan int)
	<-c
}
