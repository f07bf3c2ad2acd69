// Cross-check: an unrecovered panic in main.
package main

func main() {
	panic("boom")
}
