// Cross-check: an error panic value prints its Error() text.
package main

import "errors"

func main() {
	panic(errors.New("disk full"))
}
