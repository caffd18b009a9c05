// SPDX-License-Identifier: MIT

package main

import (
	"context"
	"testing"

	"golang.org/x/sync/semaphore"
	"qsem.invalid/qsem"
)

// weighted is what every contender offers: x/sync's method set.
type weighted interface {
	Acquire(context.Context, int64) error
	TryAcquire(int64) bool
	Release(int64)
}

// A contender makes a semaphore with initial of max tokens free.
type contender struct {
	name string
	make func(initial, max int64) weighted
}

var contenders = []contender{
	{"qsem", func(initial, max int64) weighted {
		w, err := qsem.New(initial, qsem.WithMax(max))
		if err != nil {
			panic(err)
		}
		return w
	}},
	{"qsem-fifo", func(initial, max int64) weighted {
		w, err := qsem.New(initial, qsem.WithMax(max), qsem.WithFIFO())
		if err != nil {
			panic(err)
		}
		return w
	}},
	{"xsync", func(initial, max int64) weighted {
		w := semaphore.NewWeighted(max)
		w.Acquire(context.Background(), max-initial)
		return w
	}},
	{"chan", func(initial, max int64) weighted {
		c := make(semChan, max)
		c.Acquire(context.Background(), max-initial)
		return c
	}},
}

// semChan is a buffered channel used as a semaphore: a token is a free
// slot, so Acquire sends and Release receives.
type semChan chan struct{}

func (c semChan) Acquire(ctx context.Context, n int64) error {
	for i := int64(0); i < n; i++ {
		select {
		case c <- struct{}{}:
		case <-ctx.Done():
			c.Release(i)
			return ctx.Err()
		}
	}
	return nil
}

func (c semChan) TryAcquire(n int64) bool {
	for i := int64(0); i < n; i++ {
		select {
		case c <- struct{}{}:
		default:
			c.Release(i)
			return false
		}
	}
	return true
}

func (c semChan) Release(n int64) {
	for i := int64(0); i < n; i++ {
		<-c
	}
}

// A scenario measures one operation pair on one contender.
type scenario struct {
	name string
	run  func(b *testing.B, c contender)
}

var scenarios = []scenario{
	{"TryAcquire+Release", tryRelease},
	{"Acquire+Release", acquireRelease},
	{"handoff", handoff},
}

// Uncontended: one goroutine takes a token by TryAcquire and gives it back.
func tryRelease(b *testing.B, c contender) {
	s := c.make(1, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !s.TryAcquire(1) {
			b.Fatal("TryAcquire failed uncontended")
		}
		s.Release(1)
	}
}

// Uncontended: the same through Acquire with a context.
func acquireRelease(b *testing.B, c contender) {
	ctx := context.Background()
	s := c.make(1, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Acquire(ctx, 1); err != nil {
			b.Fatal(err)
		}
		s.Release(1)
	}
}

// Two goroutines pass a token back and forth through two empty
// semaphores, so every Acquire waits and every Release wakes a waiter:
// one op is one round trip (two handoffs).
func handoff(b *testing.B, c contender) {
	ctx := context.Background()
	ping, pong := c.make(0, 1), c.make(0, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < b.N; i++ {
			ping.Acquire(ctx, 1)
			pong.Release(1)
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ping.Release(1)
		pong.Acquire(ctx, 1)
	}
	<-done
}
