// Cross-check: an unrecovered panic in another goroutine names that
// goroutine (its id is normalised).
package main

func main() {
	go func() { panic("in goroutine") }()
	select {}
}
