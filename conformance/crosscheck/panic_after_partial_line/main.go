// Cross-check: a partial stdout line printed before a fatal panic is not
// lost.
package main

import "fmt"

func main() {
	fmt.Print("partial line, no newline")
	panic("boom")
}
