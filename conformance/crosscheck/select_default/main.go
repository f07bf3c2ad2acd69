// Cross-check: non-blocking operations through select with default.
package main

import "fmt"

func main() {
	c := make(chan int, 1)
	for i := 0; i < 3; i++ {
		select {
		case c <- i:
			fmt.Println("sent", i)
		default:
			fmt.Println("full", i)
		}
	}
	for i := 0; i < 2; i++ {
		select {
		case v := <-c:
			fmt.Println("got", v)
		default:
			fmt.Println("empty")
		}
	}
	close(c)
	select {
	case v, ok := <-c:
		fmt.Println("closed", v, ok)
	default:
		fmt.Println("not ready")
	}
	var nilc chan int
	select {
	case <-nilc:
		fmt.Println("nil ready?")
	default:
		fmt.Println("nil never ready")
	}
}
