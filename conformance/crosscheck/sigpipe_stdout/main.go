// Cross-check: a write to standard output whose reader has gone (as in
// `prog | head -1`) ends the program by SIGPIPE, silently. The program
// makes that pipe itself: fd 1 becomes the write end of a pipe whose read
// end is closed.
package main

import (
	"fmt"
	"os"
	"syscall"
)

func main() {
	r, w, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	r.Close()
	if err := syscall.Dup2(int(w.Fd()), 1); err != nil {
		panic(err)
	}
	fmt.Println("lost")
	// Not reached: the write raised SIGPIPE.
	os.Exit(3)
}
