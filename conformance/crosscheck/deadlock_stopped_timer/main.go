// Cross-check: waiting on the channel of a stopped timer, with nothing
// else to run, is a deadlock.
package main

import "time"

func main() {
	t := time.NewTimer(time.Hour)
	t.Stop()
	<-t.C
}
