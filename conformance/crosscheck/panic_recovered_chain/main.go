// Cross-check: a panic raised while a recovered one's deferred call still
// runs is reported after it: the recovered panic marked [recovered], the
// new one indented below, exit 2.
package main

func main() {
	defer func() {
		recover()
		panic("second panic")
	}()
	panic("first panic")
}
