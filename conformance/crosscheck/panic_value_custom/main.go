// Cross-check: a panic with a value of a named type of a printable kind
// prints the type and the value (Go: main.MyInt(93); gort: the Rust path,
// which the harness reads as main.).
package main

type MyInt int

func main() {
	panic(MyInt(93))
}
