// Cross-check: two goroutines and main taking turns through Gosched on one P.
package main

import (
	"fmt"
	"runtime"
)

func main() {
	runtime.GOMAXPROCS(1)
	done := make(chan bool)
	for _, name := range []string{"a", "b"} {
		go func() {
			for i := 0; i < 3; i++ {
				fmt.Println(name, i)
				runtime.Gosched()
			}
			done <- true
		}()
	}
	<-done
	<-done
	fmt.Println("main done")
}
