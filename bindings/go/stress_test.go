// SPDX-License-Identifier: MIT

package qsem_test

import (
	"context"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"qsem.invalid/qsem"
)

// Token conservation: goroutines take random counts by every path
// (TryAcquire, Acquire, Acquire with a timeout, Acquire cancelled by
// another goroutine), hold them briefly and give them back.  Whatever
// timed out or was cancelled around a grant, at the end every token is
// back, nobody waits, and no goroutine ever saw more tokens held than
// exist.
func TestTokenConservation(t *testing.T) {
	const (
		max        = 16
		goroutines = 32
	)
	rounds := 400
	if testing.Short() {
		rounds = 100
	}
	for _, fifo := range []bool{false, true} {
		opts := []qsem.Option{qsem.WithMax(max)}
		if fifo {
			opts = append(opts, qsem.WithFIFO())
		}
		w, _ := qsem.New(max, opts...)
		var held, granted, failed atomic.Int64
		var wg sync.WaitGroup
		for g := 0; g < goroutines; g++ {
			wg.Add(1)
			go func(seed int64) {
				defer wg.Done()
				rng := rand.New(rand.NewSource(seed))
				for i := 0; i < rounds; i++ {
					n := rng.Int63n(max/2 + 1)
					ok := false
					switch rng.Intn(4) {
					case 0:
						ok = w.TryAcquire(n)
					case 1:
						// Untimed in spirit: only lost tokens make it wait this long.
						ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
						err := w.Acquire(ctx, n)
						cancel()
						if err != nil {
							t.Errorf("Acquire(%d) without a deadline failed: %v (tokens lost?)", n, err)
							return
						}
						ok = true
					case 2:
						d := time.Duration(rng.Intn(500)) * time.Microsecond
						ctx, cancel := context.WithTimeout(context.Background(), d)
						ok = w.Acquire(ctx, n) == nil
						cancel()
					case 3:
						ctx, cancel := context.WithCancel(context.Background())
						go func(d time.Duration) { time.Sleep(d); cancel() }(
							time.Duration(rng.Intn(300)) * time.Microsecond)
						ok = w.Acquire(ctx, n) == nil
						cancel()
					}
					if !ok {
						failed.Add(1)
						continue
					}
					granted.Add(1)
					if h := held.Add(n); h > max {
						t.Errorf("%d tokens held of %d", h, max)
					}
					if rng.Intn(4) == 0 {
						time.Sleep(time.Duration(rng.Intn(100)) * time.Microsecond)
					}
					held.Add(-n)
					w.Release(n)
				}
			}(int64(g))
		}
		wg.Wait()
		t.Logf("fifo=%v: %d granted, %d timed out, cancelled or refused",
			fifo, granted.Load(), failed.Load())
		if w.Available() != max || w.Waiting() != 0 {
			t.Errorf("fifo=%v: Available() = %d, Waiting() = %d; want %d, 0",
				fifo, w.Available(), w.Waiting(), max)
		}
		if granted.Load() == 0 || failed.Load() == 0 {
			t.Errorf("fifo=%v: the run never exercised both outcomes", fifo)
		}
	}
}
