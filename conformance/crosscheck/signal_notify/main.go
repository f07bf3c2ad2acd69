// Cross-check: signal.Notify delivers the signals asked for, on their
// channel; Ignore and Reset change what happens to them; NotifyContext
// ends its context with the signal as cause. (A signal nobody asked for
// ends the program by the signal on Linux and by a note on Plan 9: the
// test uncaught_sigint_ends_the_program checks both layers' forms.)
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	pid := os.Getpid()
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1, syscall.SIGUSR2)
	syscall.Kill(pid, syscall.SIGUSR1)
	fmt.Println("got:", <-c)
	syscall.Kill(pid, syscall.SIGUSR2)
	fmt.Println("got:", <-c)

	signal.Ignore(syscall.SIGUSR1)
	fmt.Println("ignored:", signal.Ignored(syscall.SIGUSR1))
	syscall.Kill(pid, syscall.SIGUSR1)
	select {
	case s := <-c:
		fmt.Println("unexpected:", s)
	case <-time.After(50 * time.Millisecond):
		fmt.Println("nothing delivered while ignored")
	}
	signal.Reset(syscall.SIGUSR1)
	fmt.Println("ignored after reset:", signal.Ignored(syscall.SIGUSR1))
	signal.Stop(c)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGUSR2)
	fmt.Println(ctx)
	syscall.Kill(pid, syscall.SIGUSR2)
	<-ctx.Done()
	fmt.Println("ctx:", ctx.Err(), "/", context.Cause(ctx))
	stop()
}
