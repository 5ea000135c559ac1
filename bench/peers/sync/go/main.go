// SPDX-License-Identifier: MIT
// Go in the shapes of bench/sync_bench.c. Run with GOMAXPROCS=1, pinned
// (taskset -c 0).
//
//	gosync [yield_pair|mutex_uncontended|mutex_handoff|cond_pingpong ...]   (none: all)
//
//	yield_pair         two goroutines, n runtime.Gosched() each; ns per yield (total / 2n)
//	mutex_uncontended  one goroutine: Lock; x++; Unlock (sync.Mutex); ns per Lock+Unlock
//	mutex_handoff      two goroutines, each n times: Lock; x++; runtime.Gosched(); Unlock.
//	                   ns per operation (one Lock+Gosched+Unlock by one goroutine) = total / 2n;
//	                   plus mutex_handoff.handoffs_per_op, the share of operations that found
//	                   the mutex last held by the other goroutine
//	cond_pingpong      two goroutines, one sync.Mutex, one sync.Cond, a turn flag; each:
//	                   Lock; n times { for turn != me { Wait } turn = other; Signal }; Unlock.
//	                   ns per turn (total / 2n)
//
// Output: label<TAB>value<TAB>unit, one line per timed repetition after one
// warm-up at n/10; MICRO_REPS repetitions (default 7), MICRO_SCALE multiplies n.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

func reps() int {
	if r, err := strconv.Atoi(os.Getenv("MICRO_REPS")); err == nil && r > 0 {
		return r
	}
	return 7
}

func iters(base int) int {
	f := 1.0
	if v, err := strconv.ParseFloat(os.Getenv("MICRO_SCALE"), 64); err == nil && v > 0 {
		f = v
	}
	if n := int(float64(base) * f); n > 0 {
		return n
	}
	return 1
}

func emit(label string, value float64, unit string) {
	if unit == "ratio" {
		fmt.Printf("%s\t%.6f\t%s\n", label, value, unit)
		return
	}
	fmt.Printf("%s\t%.3f\t%s\n", label, value, unit)
}

// guarded is what the lock protects.
type guarded struct {
	x        int
	last     int // the goroutine that held it last: 0 none, 1 or 2
	handoffs int
}

func (g *guarded) note(me int) {
	if g.last != me {
		if g.last != 0 {
			g.handoffs++
		}
		g.last = me
	}
	g.x++
}

// timeIt: warm-up at n/10, then reps() timed runs; body(n) returns the
// hand-off count (or -1) and does n*opsPerN operations.
func timeIt(label string, n int, opsPerN float64, body func(int) int) {
	w := n / 10
	if w < 1 {
		w = 1
	}
	body(w)
	for r := 0; r < reps(); r++ {
		t0 := time.Now()
		h := body(n)
		ns := float64(time.Since(t0).Nanoseconds())
		ops := float64(n) * opsPerN
		emit(label, ns/ops, "ns/op")
		if h >= 0 {
			emit(label+".handoffs_per_op", float64(h)/ops, "ratio")
		}
	}
}

func checkCount(got, want int, shape string) {
	if got != want {
		fmt.Fprintf(os.Stderr, "gosync: %s: counter %d, want %d\n", shape, got, want)
		os.Exit(1)
	}
}

func yieldPair(n int) int {
	var wg sync.WaitGroup
	wg.Add(2)
	for k := 0; k < 2; k++ {
		go func() {
			for i := 0; i < n; i++ {
				runtime.Gosched()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	return -1
}

func mutexUncontended(n int) int {
	var m sync.Mutex
	var g guarded
	for i := 0; i < n; i++ {
		m.Lock()
		g.x++
		m.Unlock()
	}
	checkCount(g.x, n, "mutex_uncontended")
	return -1
}

func mutexHandoff(n int) int {
	var m sync.Mutex
	var g guarded
	var wg sync.WaitGroup
	wg.Add(2)
	for me := 1; me <= 2; me++ {
		go func(me int) {
			for i := 0; i < n; i++ {
				m.Lock()
				g.note(me)
				runtime.Gosched()
				m.Unlock()
			}
			wg.Done()
		}(me)
	}
	wg.Wait()
	checkCount(g.x, 2*n, "mutex_handoff")
	return g.handoffs
}

func condPingPong(n int) int {
	var m sync.Mutex
	c := sync.NewCond(&m)
	turn := 1
	var g guarded
	var wg sync.WaitGroup
	wg.Add(2)
	for me := 1; me <= 2; me++ {
		go func(me int) {
			m.Lock()
			for i := 0; i < n; i++ {
				for turn != me {
					c.Wait()
				}
				turn = 3 - me
				g.x++
				c.Signal()
			}
			m.Unlock()
			wg.Done()
		}(me)
	}
	wg.Wait()
	checkCount(g.x, 2*n, "cond_pingpong")
	return -1
}

func main() {
	if runtime.GOMAXPROCS(0) != 1 {
		fmt.Fprintf(os.Stderr, "gosync: GOMAXPROCS is %d; the shapes are defined for GOMAXPROCS=1\n", runtime.GOMAXPROCS(0))
	}
	want := func(k string) bool {
		if len(os.Args) < 2 {
			return true
		}
		for _, a := range os.Args[1:] {
			if a == k {
				return true
			}
		}
		return false
	}
	if want("yield_pair") {
		timeIt("go.yield_pair", iters(2000000), 2, yieldPair)
	}
	if want("mutex_uncontended") {
		timeIt("go.mutex_uncontended", iters(5000000), 1, mutexUncontended)
	}
	if want("mutex_handoff") {
		timeIt("go.mutex_handoff", iters(1000000), 2, mutexHandoff)
	}
	if want("cond_pingpong") {
		timeIt("go.cond_pingpong", iters(1000000), 2, condPingPong)
	}
}
