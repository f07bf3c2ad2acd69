// Cross-check: a Stringer panic value prints its String() text.
package main

type Celsius float64

func (c Celsius) String() string { return "too hot: 451C" }

func main() {
	panic(Celsius(451))
}
