// Cross-check: float panic values print in Go's shortest form.
package main

func main() {
	panic(1234567.0)
}
