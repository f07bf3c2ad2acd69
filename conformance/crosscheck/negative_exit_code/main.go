// Negative fixture of the harness itself: Go exits 2 here, and the gort
// side deliberately exits 0; the harness must report the difference.
package main

func main() {
	panic("boom")
}
