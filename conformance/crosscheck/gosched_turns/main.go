// Cross-check: two goroutines taking turns through Gosched on one P. Which
// of the two starts first is up to the scheduler (runnext makes it the
// later one, but Go does not promise it), so the program prints whether
// they alternated, and the lines sorted.
package main

import (
	"fmt"
	"runtime"
	"sort"
	"sync"
)

func main() {
	runtime.GOMAXPROCS(1)
	var mu sync.Mutex
	var seq []string
	done := make(chan bool)
	for _, name := range []string{"a", "b"} {
		go func() {
			for i := 0; i < 3; i++ {
				mu.Lock()
				seq = append(seq, fmt.Sprint(name, " ", i))
				mu.Unlock()
				runtime.Gosched()
			}
			done <- true
		}()
	}
	<-done
	<-done
	alternated := true
	for i := 1; i < len(seq); i++ {
		if seq[i][0] == seq[i-1][0] {
			alternated = false
		}
	}
	fmt.Println("alternated:", alternated)
	sort.Strings(seq)
	for _, s := range seq {
		fmt.Println(s)
	}
	fmt.Println("main done")
}
