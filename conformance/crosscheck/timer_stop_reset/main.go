// Cross-check: Stop and Reset results with Go 1.23 timer semantics.
package main

import (
	"fmt"
	"time"
)

func main() {
	t := time.NewTimer(time.Hour)
	fmt.Println("len/cap", len(t.C), cap(t.C))
	fmt.Println("stop active:", t.Stop())
	fmt.Println("stop stopped:", t.Stop())
	fmt.Println("reset stopped:", t.Reset(5*time.Millisecond))
	<-t.C
	fmt.Println("fired")
	fmt.Println("reset fired:", t.Reset(time.Millisecond))
	time.Sleep(20 * time.Millisecond)
	fmt.Println("stop expired unread:", t.Stop())
	select {
	case <-t.C:
		fmt.Println("stale value")
	default:
		fmt.Println("no stale value")
	}
	fired := make(chan bool, 1)
	f := time.AfterFunc(time.Hour, func() { fired <- true })
	fmt.Println("afterfunc stop:", f.Stop())
	fmt.Println("afterfunc reset:", f.Reset(time.Millisecond))
	fmt.Println("afterfunc ran:", <-fired)
}
