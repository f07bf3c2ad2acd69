// Cross-check: continuation lines of a panic message are indented by a tab.
package main

func main() {
	panic("line1\nline2")
}
