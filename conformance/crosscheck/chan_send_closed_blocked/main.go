// Cross-check: a sender parked on a channel panics when it is closed.
package main

func main() {
	c := make(chan int)
	ready := make(chan bool)
	go func() {
		ready <- true
		c <- 1
	}()
	<-ready
	close(c)
	select {}
}
