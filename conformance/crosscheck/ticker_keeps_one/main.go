// Cross-check: a ticker nobody reads keeps one tick for its reader and
// drops the rest (Go 1.23's timer channels).
package main

import (
	"fmt"
	"time"
)

func main() {
	t := time.NewTicker(100 * time.Millisecond)
	time.Sleep(time.Second)
	n := 0
	for {
		select {
		case <-t.C:
			n++
			continue
		default:
		}
		break
	}
	t.Stop()
	fmt.Println("ticks waiting:", n)
}
