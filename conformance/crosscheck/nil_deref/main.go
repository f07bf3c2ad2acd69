// Cross-check: a nil pointer dereference on a goroutine is reported as
// Go's runtime error panic with the signal line, exit 2.
package main

var p *int

func main() {
	*p = 1
}
