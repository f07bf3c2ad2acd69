// Cross-check: main sends on a channel nobody receives from.
package main

func main() {
	c := make(chan int)
	c <- 1
}
