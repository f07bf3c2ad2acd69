// Cross-check: os.Exit(3) from a goroutine ends the program silently with
// that status.
package main

import "os"

func main() {
	go func() { os.Exit(3) }()
	select {}
}
