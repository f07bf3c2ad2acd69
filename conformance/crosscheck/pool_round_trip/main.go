// Cross-check: a sync.Pool round trip on one goroutine: the first Put
// fills the P's private slot, later ones its shared queue (taken back
// last-in first-out), then New makes values; a Pool without New gives nil.
package main

import (
	"fmt"
	"sync"
)

func main() {
	made := 0
	p := sync.Pool{New: func() any { made++; return fmt.Sprint("new", made) }}
	for _, s := range []string{"a", "b", "c"} {
		p.Put(s)
	}
	for i := 0; i < 5; i++ {
		fmt.Println("get:", p.Get())
	}
	var q sync.Pool
	fmt.Println("without New:", q.Get())
	q.Put(1)
	fmt.Println("after a put:", q.Get(), q.Get())
}
