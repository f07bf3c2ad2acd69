// Cross-check: a channel buffer that cannot exist panics.
package main

import "os"

func main() {
	n := len(os.Args) << 62
	_ = make(chan int64, n)
}
