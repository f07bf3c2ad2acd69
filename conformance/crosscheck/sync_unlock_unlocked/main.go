// Cross-check: unlocking an unlocked sync.Mutex is a fatal error.
package main

import "sync"

func main() {
	var mu sync.Mutex
	mu.Lock()
	mu.Unlock()
	mu.Unlock()
}
