// Cross-check: the text of network errors (net.OpError): a refused dial,
// a read of a reset connection, a read and a write on a closed
// connection, a read past its deadline, an accept on a closed listener,
// a second close of a connection and of a listener.
// The ephemeral addresses print as L (local), R (remote) and A
// (listener).
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

func show(what string, err error, names map[string]string) {
	s := fmt.Sprint(err)
	for addr, name := range names {
		s = strings.ReplaceAll(s, addr, name)
	}
	fmt.Printf("%s: %s (closed=%v timeout=%v)\n", what, s,
		errors.Is(err, net.ErrClosed), errors.Is(err, os.ErrDeadlineExceeded))
}

func main() {
	_, err := net.Dial("tcp", "127.0.0.1:1")
	show("dial", err, nil)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	accepted := make(chan net.Conn)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func() (net.Conn, net.Conn, map[string]string) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			panic(err)
		}
		return c, <-accepted, map[string]string{c.LocalAddr().String(): "L", c.RemoteAddr().String(): "R"}
	}

	// The server reads a byte, then resets the connection (linger 0).
	c, s, names := dial()
	c.Write([]byte("x"))
	s.Read(make([]byte, 1))
	s.(*net.TCPConn).SetLinger(0)
	s.Close()
	_, err = c.Read(make([]byte, 1))
	show("read after reset", err, names)
	c.Close()
	_, err = c.Read(make([]byte, 1))
	show("read after close", err, names)
	_, err = c.Write([]byte("x"))
	show("write after close", err, names)
	err = c.Close()
	show("second close", err, names)

	c, s, names = dial()
	c.SetReadDeadline(time.Now().Add(-time.Second))
	_, err = c.Read(make([]byte, 1))
	show("read past deadline", err, names)
	c.Close()
	s.Close()

	lnNames := map[string]string{ln.Addr().String(): "A"}
	ln.Close()
	_, err = ln.Accept()
	show("accept after close", err, lnNames)
	err = ln.Close()
	show("listener second close", err, lnNames)
}
