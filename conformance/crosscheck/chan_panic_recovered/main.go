// Cross-check: channel misuse panics can be recovered, with Go's messages.
package main

import "fmt"

func try(name string, f func()) {
	defer func() {
		fmt.Println(name+":", recover())
	}()
	f()
}

func main() {
	closed := make(chan int, 1)
	close(closed)
	var nilc chan int
	try("send", func() { closed <- 1 })
	try("close", func() { close(closed) })
	try("close nil", func() { close(nilc) })
	try("select send", func() {
		select {
		case closed <- 1:
		default:
		}
	})
	v, ok := <-closed
	fmt.Println("recv:", v, ok)
}
