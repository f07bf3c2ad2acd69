// Cross-check: after the client closes its write side, the server reads
// to EOF and can still answer on the open half.
package main

import (
	"fmt"
	"io"
	"net"
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
		got, err := io.ReadAll(c)
		fmt.Println("server read:", string(got), err)
		c.Write([]byte("bye"))
		c.Close()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	c.Write([]byte("hello"))
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	fmt.Println("client read:", string(got), err)
}
