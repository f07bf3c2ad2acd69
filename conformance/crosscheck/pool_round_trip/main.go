// Cross-check: a sync.Pool round trip on one goroutine, on one P: the first Put
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
	// No output (a system call, after which the goroutine may resume on
	// another P) between the puts and the gets.
	for _, s := range []string{"a", "b", "c"} {
		p.Put(s)
	}
	var got []any
	for i := 0; i < 5; i++ {
		got = append(got, p.Get())
	}
	for _, g := range got {
		fmt.Println("get:", g)
	}
	var q sync.Pool
	fmt.Println("without New:", q.Get())
	q.Put(1)
	fmt.Println("after a put:", q.Get(), q.Get())
}
