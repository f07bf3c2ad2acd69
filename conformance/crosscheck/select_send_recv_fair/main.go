// Cross-check: a select whose send and receive cases are both ready picks
// each about half of the time.
package main

import "fmt"

func main() {
	a := make(chan int, 1)
	b := make(chan int, 1)
	b <- 1
	sends, recvs := 0, 0
	for i := 0; i < 10000; i++ {
		select {
		case a <- 1:
			sends++
			<-a
		case v := <-b:
			recvs++
			b <- v
		}
	}
	fmt.Println("both:", sends > 4000 && recvs > 4000)
}
