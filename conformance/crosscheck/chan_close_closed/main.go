// Cross-check: closing a closed channel panics.
package main

func main() {
	c := make(chan int)
	close(c)
	close(c)
}
