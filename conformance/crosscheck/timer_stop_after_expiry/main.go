// Cross-check: Go 1.23's timer channels. A timer that fired but whose
// value nobody received is still pending: Stop says so and drops the
// value; Reset of a timer whose value was received reports it was not
// pending.
package main

import (
	"fmt"
	"time"
)

func main() {
	t := time.NewTimer(time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	fmt.Println("stop:", t.Stop())
	select {
	case <-t.C:
		fmt.Println("stale value")
	default:
		fmt.Println("no stale value")
	}
	fmt.Println("reset:", t.Reset(time.Millisecond))
	<-t.C
	fmt.Println("fired")
	fmt.Println("reset after receive:", t.Reset(time.Hour))
	fmt.Println("stop:", t.Stop())
}
