// Cross-check: GOMAXPROCS(n) returns the previous value; 0 only reports.
package main

import (
	"fmt"
	"runtime"
)

func main() {
	runtime.GOMAXPROCS(2)
	fmt.Println(runtime.GOMAXPROCS(3))
	fmt.Println(runtime.GOMAXPROCS(0))
	fmt.Println(runtime.GOMAXPROCS(1))
	fmt.Println(runtime.GOMAXPROCS(0))
}
