// Cross-check: a recovered value raised again (panic(recover())) is
// reported once, marked [recovered, repanicked], exit 2.
package main

func main() {
	defer func() {
		panic(recover())
	}()
	panic("message")
}
