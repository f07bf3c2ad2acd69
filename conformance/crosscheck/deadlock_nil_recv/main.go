// Cross-check: a receive from a nil channel blocks forever.
package main

func main() {
	var c chan int
	<-c
}
