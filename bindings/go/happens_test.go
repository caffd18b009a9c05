// SPDX-License-Identifier: MIT

package qsem_test

import (
	"context"
	"runtime"
	"testing"

	"qsem.invalid/qsem"
)

// A Release happens before the acquire that takes its tokens, so data
// written before the Release may be read after the acquire, as with
// x/sync's semaphore, and the race detector must agree.  The core
// synchronises through C atomics the detector cannot see; what it sees is
// that the runtime orders every cgo call after the previous one under
// -race.  A fast path that skipped the core (a Go-side cache of the
// count, say) would lose that, and this test would report a race.
func TestReleaseHappensBeforeAcquire(t *testing.T) {
	for _, take := range []struct {
		name string
		f    func(w *qsem.Weighted) bool
	}{
		{"TryAcquire", func(w *qsem.Weighted) bool { return w.TryAcquire(1) }},
		{"Acquire", func(w *qsem.Weighted) bool { return w.Acquire(context.Background(), 1) == nil }},
	} {
		w := qsem.NewWeighted(1)
		w.Acquire(context.Background(), 1)
		data := 0
		go func() {
			data = 42
			w.Release(1)
		}()
		// Poll, so that the token is taken by the fast path, not handed
		// over through a waiter's channel.
		for w.Available() == 0 {
			runtime.Gosched()
		}
		if !take.f(w) {
			t.Fatalf("%s failed with a token free", take.name)
		}
		if data != 42 {
			t.Errorf("%s: data = %d after the Release that wrote it", take.name, data)
		}
	}
}
