// Cross-check: waiting on a WaitGroup nobody will finish.
package main

import "sync"

func main() {
	var wg sync.WaitGroup
	wg.Add(1)
	wg.Wait()
}
