// SPDX-License-Identifier: MIT

package qsem_test

import (
	"bufio"
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"qsem.invalid/qsem"
)

// threads reads this process's OS thread count from /proc/self/status.
func threads(t *testing.T) int {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status on this system")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads: line in /proc/self/status")
	return 0
}

// Waiting goroutines park in the Go scheduler: 10,000 of them must not
// take an OS thread each (a wait that blocks inside a cgo call would),
// neither while they wait nor when one Release wakes them all.
func TestWaitersParkWithoutThreads(t *testing.T) {
	const waiters = 10000
	// Generous: the runtime's own threads, one per P, a few for cgo calls
	// a loaded machine keeps descheduled, and the race detector's.
	const limit = 100
	w := qsem.NewWeighted(waiters)
	w.Acquire(context.Background(), waiters)
	var wg sync.WaitGroup
	for i := 0; i < waiters; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Acquire(context.Background(), 1); err != nil {
				t.Error(err)
				return
			}
			w.Release(1)
		}()
	}
	waitQueued(t, w, waiters)
	n := threads(t)
	t.Logf("%d goroutines waiting, %d OS threads", waiters, n)
	if n > limit {
		t.Errorf("%d OS threads for %d waiting goroutines, want at most %d", n, waiters, limit)
	}
	// One Release wakes them all; while it runs, woken goroutines must
	// not pile up in cgo calls blocked on the semaphore's lock, each
	// taking a thread (threads, once made, stay).
	w.Release(waiters)
	wg.Wait()
	n = threads(t)
	t.Logf("after one Release woke them all: %d OS threads", n)
	if n > limit {
		t.Errorf("%d OS threads after waking %d goroutines, want at most %d", n, waiters, limit)
	}
	if w.Available() != waiters || w.Waiting() != 0 {
		t.Errorf("Available() = %d, Waiting() = %d", w.Available(), w.Waiting())
	}
}
