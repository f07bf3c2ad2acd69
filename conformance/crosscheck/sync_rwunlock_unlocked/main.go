// Cross-check: Unlock of an RWMutex held for reading is a fatal error.
package main

import "sync"

func main() {
	var mu sync.RWMutex
	mu.RLock()
	mu.Unlock()
}
