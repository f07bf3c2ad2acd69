// Cross-check: a channel timer nobody waits on does not hide a deadlock
// (Go 1.23 timers).
package main

import "time"

func main() {
	_ = time.After(time.Hour)
	c := make(chan int)
	<-c
}
