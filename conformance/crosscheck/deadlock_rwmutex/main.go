// Cross-check: a writer waiting for a reader that never leaves.
package main

import "sync"

func main() {
	var mu sync.RWMutex
	mu.RLock()
	mu.Lock()
}
