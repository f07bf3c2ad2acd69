// Cross-check: a read past its deadline fails with a timeout, and the
// connection still works once the deadline is lifted.
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	timedOut := make(chan bool)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			panic(err)
		}
		// Writes only once the client's read has timed out.
		<-timedOut
		c.Write([]byte("x"))
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	buf := make([]byte, 1)
	_, err = c.Read(buf)
	fmt.Println("timeout:", errors.Is(err, os.ErrDeadlineExceeded))
	timedOut <- true
	c.SetReadDeadline(time.Time{})
	n, err := c.Read(buf)
	fmt.Println("then read:", n, string(buf[:n]), err)
}
