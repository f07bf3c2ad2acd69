// Cross-check: setting a case's channel to nil turns the case off.
package main

import "fmt"

func main() {
	a := make(chan int)
	b := make(chan int)
	go func() {
		for i := 0; i < 100; i++ {
			a <- 1
		}
		close(a)
	}()
	go func() {
		for i := 0; i < 50; i++ {
			b <- 2
		}
		close(b)
	}()
	na, nb := 0, 0
	for a != nil || b != nil {
		select {
		case v, ok := <-a:
			if !ok {
				a = nil
				continue
			}
			na += v
		case v, ok := <-b:
			if !ok {
				b = nil
				continue
			}
			nb += v
		}
	}
	fmt.Println(na, nb)
}
