// Cross-check: stopping an AfterFunc timer before it fires keeps its
// function from running; once it ran, Stop reports false.
package main

import (
	"fmt"
	"time"
)

func main() {
	ran := make(chan string, 2)
	t := time.AfterFunc(time.Hour, func() { ran <- "late" })
	fmt.Println("stop:", t.Stop())
	t2 := time.AfterFunc(time.Millisecond, func() { ran <- "soon" })
	fmt.Println("ran:", <-ran)
	fmt.Println("stop after it ran:", t2.Stop())
	select {
	case s := <-ran:
		fmt.Println("also ran:", s)
	case <-time.After(50 * time.Millisecond):
		fmt.Println("nothing else ran")
	}
}
