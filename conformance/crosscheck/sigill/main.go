// Cross-check: an illegal instruction (UD2) on a goroutine is reported as
// Go reports a synchronous signal: its name, PC, m and sigcode, the
// instruction bytes, the goroutine's frames, the others, the registers,
// exit 2.
package main

// ill executes UD2 (ill_amd64.s).
func ill()

func main() {
	done := make(chan bool)
	go func() {
		ill()
		done <- true
	}()
	<-done
}
