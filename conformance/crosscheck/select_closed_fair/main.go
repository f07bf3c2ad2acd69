// Cross-check: a select over two closed channels picks each about half of
// the time (select chooses uniformly among the cases that are ready).
package main

import "fmt"

func main() {
	a := make(chan int)
	b := make(chan int)
	close(a)
	close(b)
	na, nb := 0, 0
	for i := 0; i < 10000; i++ {
		select {
		case <-a:
			na++
		case <-b:
			nb++
		}
	}
	fmt.Println("fair:", na > 4000 && nb > 4000)
}
