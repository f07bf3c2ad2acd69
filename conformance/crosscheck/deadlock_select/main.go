// Cross-check: `select {}` in main with nothing else alive is a deadlock.
package main

func main() {
	select {}
}
