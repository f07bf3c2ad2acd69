// Cross-check: a peer that closes with SO_LINGER 0 resets the connection;
// the reader gets ECONNRESET, not EOF.
package main

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() {
		c, err := ln.Accept()
		if err != nil {
			panic(err)
		}
		// After the client's byte, so that its Dial has returned.
		c.Read(make([]byte, 1))
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	c.Write([]byte("x"))
	_, err = c.Read(make([]byte, 1))
	fmt.Println("reset:", errors.Is(err, syscall.ECONNRESET))
}
