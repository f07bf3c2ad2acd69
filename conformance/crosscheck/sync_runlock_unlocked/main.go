// Cross-check: RUnlock of an unlocked RWMutex is a fatal error.
package main

import "sync"

func main() {
	var mu sync.RWMutex
	mu.RUnlock()
}
