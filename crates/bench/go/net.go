// Network side of the side-by-side benchmarks: the same minimal servers as
// gort's examples (echo, and an HTTP/1.1 hello with keep-alive on raw TCP,
// so that all systems do the same work), and a Go echo load generator used
// against every system's echo server.
package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"
)

var helloResponse = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!")

// netMain handles the network modes; it reports whether args named one.
func netMain(args []string) bool {
	switch args[0] {
	case "echoserver":
		serve(args[1], func(c net.Conn) {
			buf := make([]byte, 16<<10)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				if _, err := c.Write(buf[:n]); err != nil {
					return
				}
			}
		})
	case "httpserver":
		serve(args[1], func(c net.Conn) {
			buf := make([]byte, 8192)
			have := 0
			for {
				n, err := c.Read(buf[have:])
				if err != nil {
					return
				}
				have += n
				start := 0
				var out []byte
				for {
					end := bytes.Index(buf[start:have], []byte("\r\n\r\n"))
					if end < 0 {
						break
					}
					out = append(out, helloResponse...)
					start += end + 4
				}
				copy(buf, buf[start:have])
				have -= start
				if have == len(buf) {
					return
				}
				if len(out) > 0 {
					if _, err := c.Write(out); err != nil {
						return
					}
				}
			}
		})
	case "echoclient":
		conns, _ := strconv.Atoi(args[2])
		secs, _ := strconv.ParseFloat(args[3], 64)
		size, _ := strconv.Atoi(args[4])
		echoClient(args[1], conns, time.Duration(secs*float64(time.Second)), size)
	default:
		return false
	}
	return true
}

func serve(addr string, handle func(net.Conn)) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		go handle(c)
	}
}

// echoClient: conns connections, each sending a size-byte message and
// waiting for its echo, back to back, for d; prints round trips per
// second and the 99th percentile round trip in microseconds.
func echoClient(addr string, conns int, d time.Duration, size int) {
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return
			}
			defer c.Close()
			msg := bytes.Repeat([]byte{'x'}, size)
			got := make([]byte, size)
			var mine []time.Duration
			for time.Now().Before(deadline) {
				t := time.Now()
				if _, err := c.Write(msg); err != nil {
					break
				}
				if _, err := io.ReadFull(c, got); err != nil {
					break
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(lat) == 0 {
		fmt.Fprintln(os.Stderr, "no round trips")
		os.Exit(1)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p99 := lat[len(lat)*99/100]
	fmt.Printf("result %f\n", float64(len(lat))/d.Seconds())
	fmt.Printf("p99 %f\n", float64(p99.Nanoseconds())/1e3)
}
