// Cross-check: cancelling a node of a context tree ends exactly its
// subtree, synchronously; causes travel down; a parent's earlier deadline
// wins; AfterFunc runs once the context ends and stop then reports false.
package main

import (
	"context"
	"errors"
	"fmt"
	"time"
)

type key string

func main() {
	root, cancelRoot := context.WithCancel(context.Background())
	a, cancelA := context.WithCancel(root)
	b, cancelB := context.WithTimeout(a, time.Hour)
	c := context.WithValue(b, key("k"), "v")
	d, cancelD := context.WithCancelCause(root)
	e, cancelE := context.WithCancel(d)
	defer cancelB()
	defer cancelE()
	show := func(when string) {
		fmt.Println(when)
		for _, n := range []struct {
			name string
			ctx  context.Context
		}{{"root", root}, {"a", a}, {"b", b}, {"c", c}, {"d", d}, {"e", e}} {
			fmt.Printf("  %s: err=%v cause=%v\n", n.name, n.ctx.Err(), context.Cause(n.ctx))
		}
	}
	fmt.Println(root, a)
	show("before")
	ran := make(chan string, 1)
	stop := context.AfterFunc(c, func() { ran <- "afterfunc ran" })
	cancelA()
	show("after cancel(a)")
	fmt.Println(<-ran)
	fmt.Println("stop after it ran:", stop())
	fmt.Println("value through the cancelled chain:", c.Value(key("k")))
	cancelD(errors.New("shutdown"))
	show("after cancel(d, shutdown)")
	cancelRoot()
	show("after cancel(root)")

	p, cancelP := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelP()
	q, cancelQ := context.WithTimeout(p, time.Hour)
	defer cancelQ()
	dp, _ := p.Deadline()
	dq, _ := q.Deadline()
	fmt.Println("child keeps the parent's earlier deadline:", dp.Equal(dq))
	<-q.Done()
	fmt.Println("q:", q.Err(), "/", context.Cause(q), "/ p:", p.Err())
	w := context.WithoutCancel(q)
	fmt.Println("without cancel:", w.Err(), w.Done() == nil)

	s, cancelS := context.WithTimeoutCause(context.Background(), time.Millisecond, errors.New("too slow"))
	defer cancelS()
	<-s.Done()
	fmt.Println("s:", s.Err(), "/", context.Cause(s))
}
