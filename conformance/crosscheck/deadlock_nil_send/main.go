// Cross-check: a send on a nil channel blocks forever.
package main

func main() {
	var c chan int
	c <- 1
}
