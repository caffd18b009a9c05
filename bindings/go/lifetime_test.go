// SPDX-License-Identifier: MIT

package qsem_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"qsem.invalid/qsem"
)

// Close races every other call, from many goroutines, round after round,
// and the semaphores are then dropped for the garbage collector to free
// while the next round runs.  Under -race and -asan any unsynchronised or
// freed access is a report; here, every call must also give one of its
// documented results.
func TestCloseRacesEveryCall(t *testing.T) {
	const goroutines = 8
	rounds := 200
	if testing.Short() {
		rounds = 50
	}
	for round := 0; round < rounds; round++ {
		w, _ := qsem.New(2, qsem.WithMax(4))
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for g := 0; g < goroutines; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					switch (g + i) % 5 {
					case 0:
						if w.TryAcquire(1) {
							w.Release(1)
						}
					case 1:
						ctx, cancel := context.WithTimeout(context.Background(), 50*time.Microsecond)
						err := w.Acquire(ctx, 2)
						cancel()
						if err == nil {
							w.Release(2)
						} else if err != qsem.ErrClosed && err != context.DeadlineExceeded {
							t.Errorf("Acquire: %v", err)
						}
					case 2:
						if a := w.Available(); a < 0 || a > 4 {
							t.Errorf("Available() = %d", a)
						}
					case 3:
						_ = w.Waiting()
					case 4:
						if g == 0 && i > 50 {
							w.Close()
						}
					}
				}
			}(g)
		}
		time.Sleep(time.Millisecond)
		w.Close()
		close(stop)
		wg.Wait()
		if w.Available() != 2 || w.Waiting() != 0 {
			t.Fatalf("round %d: Available() = %d, Waiting() = %d; want 2, 0",
				round, w.Available(), w.Waiting())
		}
		if round%50 == 0 {
			runtime.GC()
		}
	}
}

// A semaphore dropped while a goroutine still waits on it stays alive for
// that goroutine; one dropped by everyone is freed by the collector.
func TestDroppedSemaphoreOutlivesItsWaiter(t *testing.T) {
	errs := make(chan error)
	for i := 0; i < 10; i++ {
		w := qsem.NewWeighted(1)
		w.Acquire(context.Background(), 1)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		go func() { defer cancel(); errs <- w.Acquire(ctx, 1) }()
	}
	for i := 0; i < 10; i++ {
		runtime.GC()
		if err := <-errs; err != context.DeadlineExceeded {
			t.Errorf("waiter on a dropped semaphore got %v", err)
		}
	}
	for i := 0; i < 1000; i++ {
		w := qsem.NewWeighted(1)
		w.TryAcquire(1)
	}
	runtime.GC()
}
