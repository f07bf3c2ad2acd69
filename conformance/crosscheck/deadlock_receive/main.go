// Cross-check: main waits for a goroutine that blocks forever.
package main

func main() {
	c := make(chan int)
	go func() {
		select {}
		c <- 1
	}()
	<-c
}
