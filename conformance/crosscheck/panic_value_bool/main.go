// Cross-check: a bool panic value, from a goroutine.
package main

func main() {
	done := make(chan bool)
	go func() {
		panic(true)
	}()
	<-done
}
