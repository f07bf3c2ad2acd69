// Cross-check: main calls Goexit; the others finish; then Go reports that
// no goroutines are left.
package main

import "runtime"

func main() {
	for i := 0; i < 3; i++ {
		go func() { runtime.Gosched() }()
	}
	runtime.Goexit()
}
