// Cross-check: an integer panic value prints as a number.
package main

func main() {
	panic(int64(42))
}
