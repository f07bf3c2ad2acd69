// Cross-check: a panic while a panic unwinds (Rust: a destructor that
// panics during the unwind) reports both values.
package main

func main() {
	defer func() { panic("second") }()
	panic("first")
}
