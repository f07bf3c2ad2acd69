// Cross-check: locking a mutex twice with nothing else running.
package main

import "sync"

func main() {
	var mu sync.Mutex
	mu.Lock()
	mu.Lock()
}
