// SPDX-License-Identifier: MIT

// Package qsem is a weighted semaphore with the API of
// golang.org/x/sync/semaphore.Weighted, over the qsem C core.
//
// Code written for x/sync's semaphore works with only its import line
// changed:
//
//	import semaphore "qsem.invalid/qsem"
//
// qsem adds what x/sync does not have: Close (waiters and later acquires
// get ErrClosed), Available, Waiting, a bound apart from the initial count,
// and a choice of fairness (New with WithMax and WithFIFO).  The same
// semaphore can be shared with C code in the process.
//
// # Waiting
//
// A goroutine that has to wait joins the core's queue as an asynchronous
// waiter and parks in the Go scheduler on a channel; it holds no OS thread,
// so ten thousand waiters cost ten thousand goroutines, not threads.  A
// wait ends when the tokens are granted (nil), when ctx is done
// (ctx.Err(), with nothing taken: tokens granted at the same moment are
// given back) or when the semaphore is closed (ErrClosed).  A ctx that is
// already done fails at once, even when tokens are free, as in x/sync; so
// does a context deadline in the past.  Deadlines and timeouts are the
// context's: qsem adds no other timeout rule.
//
// # Counting
//
// A semaphore holds Available() tokens out of at most Max().  NewWeighted(n)
// is New(n, WithMax(n), WithFIFO()): n tokens, never more, served in
// arrival order, exactly x/sync's Weighted.  What a caller holds is
// Max() - Available(); a Release that would pass Max() is "released more
// than held" and panics, as in x/sync, with the count unchanged.
//
// # Lifetime
//
// The C memory belongs to the Go garbage collector: it is freed by a
// cleanup once the Weighted is unreachable, and every method keeps the
// semaphore reachable for as long as it runs, so no call in any order from
// any goroutine can touch freed memory.  Close only closes: afterwards
// Acquire returns ErrClosed, TryAcquire returns false, Release still
// works (so holders can finish) and Available and Waiting still answer.
// A nil *Weighted, or a zero Weighted not made by New or NewWeighted,
// panics with a message on every method; recover() catches it.
package qsem

/*
#cgo LDFLAGS: -lpthread
#include <errno.h>
#include "qsemgo.h"
*/
import "C"

import (
	"context"
	"errors"
	"runtime"
	"runtime/cgo"
	"sync"
)

// MaxValue is the largest count a semaphore can hold (2^62 - 1), and the
// bound of a semaphore made by New without WithMax.
const MaxValue = int64(C.QSEM_VALUE_MAX)

// ErrClosed is returned by Acquire on a semaphore that Close has closed,
// including to goroutines that were waiting when it was closed.
var ErrClosed = errors.New("qsem: semaphore closed")

// Weighted is a counting semaphore; make one with NewWeighted or New and
// share it by pointer.
type Weighted struct {
	// nil in a zero Weighted; copies of a Weighted share it
	s *sem
}

// sem owns one handle on the C semaphore; a cleanup drops it once no
// Weighted (and no running method) can reach the sem any more.
type sem struct {
	// the C semaphore; valid for as long as this sem is reachable
	p *C.qsem_t
	// the bound, fixed at creation
	max int64
	// closed by Close, so that waits the core does not queue end as well
	closed    chan struct{}
	closeOnce sync.Once
}

// Option configures New.
type Option func(*config)

type config struct {
	max   int64
	flags C.uint
}

// WithMax bounds the semaphore at max tokens (default MaxValue): a Release
// that would take the count past max panics, and an Acquire of more than
// max can never succeed, so it waits for ctx only.
func WithMax(max int64) Option {
	return func(c *config) { c.max = max }
}

// WithFIFO serves waiters in strict arrival order, and makes TryAcquire
// fail while anyone waits, as x/sync does.  Without it waiters may be
// overtaken by newcomers for a bounded, short time (faster under load, and
// still free of starvation).
func WithFIFO() Option {
	return func(c *config) { c.flags |= C.QSEM_FIFO }
}

// New makes a semaphore with initial free tokens.  It fails (and makes
// nothing) if initial < 0, if the bound is below initial or above
// MaxValue, or if memory runs out.
func New(initial int64, opts ...Option) (*Weighted, error) {
	c := config{max: MaxValue}
	for _, o := range opts {
		o(&c)
	}
	if initial < 0 || c.max < initial || c.max > MaxValue {
		return nil, errors.New("qsem: New needs 0 <= initial <= max <= MaxValue")
	}
	p, err := C.qsem_new(C.int64_t(initial), C.int64_t(c.max), c.flags)
	if p == nil {
		return nil, err
	}
	s := &sem{p: p, max: c.max, closed: make(chan struct{})}
	// The only place the handle is dropped: no method can run on an
	// unreachable sem, so none can reach freed memory (docs/contract.md,
	// handles).
	runtime.AddCleanup(s, func(p *C.qsem_t) {
		var woken *C.struct_qsemgo_wait
		C.qsemgo_unref(p, &woken)
		wake(woken)
	}, p)
	return &Weighted{s: s}, nil
}

// NewWeighted makes a semaphore of n tokens that never holds more than n
// and serves waiters in arrival order: x/sync's NewWeighted.  It panics if
// n is negative.  A size above MaxValue, such as the math.MaxInt64 that
// x/sync users write for "no limit", is MaxValue, the most a semaphore
// can hold.
func NewWeighted(n int64) *Weighted {
	if n < 0 {
		panic("semaphore: size < 0")
	}
	n = min(n, MaxValue)
	w, err := New(n, WithMax(n), WithFIFO())
	if err != nil {
		panic(err.Error()) // out of memory: New's error names the package
	}
	return w
}

// sem returns the semaphore behind w, or panics for a nil or zero Weighted.
func (w *Weighted) sem() *sem {
	if w == nil {
		panic("qsem: method called on a nil *Weighted")
	}
	if w.s == nil {
		panic("qsem: Weighted not made by New or NewWeighted")
	}
	return w.s
}

func checkWeight(n int64) {
	if n < 0 {
		panic("semaphore: n < 0")
	}
}

// Acquire takes n tokens, waiting until they are free, ctx is done or the
// semaphore is closed.  It returns nil with the tokens taken, or ctx.Err()
// or ErrClosed with nothing taken.  A ctx already done fails at once.
// Acquire panics if n is negative.
func (w *Weighted) Acquire(ctx context.Context, n int64) error {
	checkWeight(n)
	s := w.sem()
	done := ctx.Done()
	select {
	case <-done:
		return ctx.Err()
	default:
	}
	if n > s.max {
		// Can never be met: wait for ctx without holding up anyone else.
		select {
		case <-done:
			return ctx.Err()
		case <-s.closed:
			return ErrClosed
		}
	}
	r := s.try(n)
	switch r {
	case 0:
		return nil
	case C.EAGAIN:
		return s.wait(ctx, done, n)
	default:
		return errorOf(r)
	}
}

// wait queues an asynchronous waiter for n tokens and parks on its channel.
func (s *sem) wait(ctx context.Context, done <-chan struct{}, n int64) error {
	ready := make(chan struct{}, 1)
	h := cgo.NewHandle(ready)
	gw, err := C.qsemgo_wait_new(s.p, C.int64_t(n), C.uintptr_t(h))
	if gw == nil {
		h.Delete()
		runtime.KeepAlive(s)
		panic("qsem: " + err.Error())
	}
	// From here the waiter pins the C semaphore until it is finished.
	cancel := C.int(0)
	var started *C.struct_qsemgo_wait
	r := C.qsemgo_wait_start(gw, &started)
	wake(started)
	switch r {
	case 0:
	case C.EINPROGRESS:
		select {
		case <-ready:
			// Granted (or closed).  A ctx done by now was done before the
			// release that granted it, so the call fails, as in x/sync.
			select {
			case <-done:
				cancel = 1
			default:
			}
		case <-done:
			cancel = 1
		}
	default:
		cancel = 1
	}
	// Cancelling gives back tokens granted meanwhile: none is lost
	// (token conservation, docs/contract.md).
	var last C.int
	var woken *C.struct_qsemgo_wait
	fin := C.qsemgo_wait_finish(gw, cancel, &last, &woken)
	// A waiting goroutine keeps the semaphore open: were s collected
	// meanwhile, its cleanup would close it under the waiter.
	runtime.KeepAlive(s)
	if last != 0 {
		h.Delete()
	}
	wake(woken)
	switch {
	case r != 0 && r != C.EINPROGRESS:
		return errorOf(r)
	case cancel != 0:
		return ctx.Err()
	default:
		return errorOf(fin)
	}
}

// TryAcquire takes n tokens if they are free now, without waiting, and
// reports whether it did.  It returns false on a closed semaphore, for n
// above the bound, and (with WithFIFO) while anyone waits.  It panics if n
// is negative.
func (w *Weighted) TryAcquire(n int64) bool {
	checkWeight(n)
	return w.sem().try(n) == 0
}

// try is qsem_try_acquire, then the wake-ups it may have made: a try can
// end a starvation window, whose dispatch may grant waiting goroutines.
func (s *sem) try(n int64) C.int {
	var woken *C.struct_qsemgo_wait
	r := C.qsemgo_try_acquire(s.p, C.int64_t(n), &woken)
	runtime.KeepAlive(s)
	wake(woken)
	return r
}

// Release gives back n tokens and wakes the waiters they satisfy.  It
// works on a closed semaphore.  It panics if n is negative, or, with the
// count unchanged, if the count would pass the bound ("released more than
// held").
func (w *Weighted) Release(n int64) {
	checkWeight(n)
	s := w.sem()
	var woken *C.struct_qsemgo_wait
	r := C.qsemgo_release(s.p, C.int64_t(n), &woken)
	runtime.KeepAlive(s)
	wake(woken)
	if r != 0 {
		panic("semaphore: released more than held")
	}
}

// Close closes the semaphore: every waiting Acquire returns ErrClosed,
// later ones do so at once and TryAcquire fails; Release keeps working.
// Closing twice is harmless.  Close always returns nil.
func (w *Weighted) Close() error {
	s := w.sem()
	var woken *C.struct_qsemgo_wait
	C.qsemgo_close(s.p, &woken)
	runtime.KeepAlive(s)
	wake(woken)
	s.closeOnce.Do(func() { close(s.closed) })
	return nil
}

// Available reports the tokens free right now (a snapshot).
func (w *Weighted) Available() int64 {
	s := w.sem()
	v := C.qsem_available(s.p)
	runtime.KeepAlive(s)
	return int64(v)
}

// Waiting reports the goroutines queued for tokens right now (a
// snapshot).  An Acquire of more than the bound, which waits for its ctx
// alone, is not counted.
func (w *Weighted) Waiting() int64 {
	s := w.sem()
	v := C.qsem_waiting(s.p)
	runtime.KeepAlive(s)
	return int64(v)
}

// Max reports the bound: the most tokens the semaphore can hold.
func (w *Weighted) Max() int64 {
	return w.sem().max
}

// Backend names the core's wait back end: "futex" (Linux) or "pthread"
// (elsewhere, or built with -DQSEM_FORCE_PTHREAD in CGO_CFLAGS).
func Backend() string {
	return C.GoString(C.qsem_backend())
}

// Version is the version of the qsem core compiled into the package.
func Version() string {
	return C.QSEM_VERSION_STRING
}

// errorOf maps a result of the core that a caller can expect to an error.
func errorOf(r C.int) error {
	switch r {
	case 0:
		return nil
	case C.ECANCELED:
		return ErrClosed
	default:
		// EINVAL and EAGAIN are ruled out before the call; anything else
		// is a bug in this package or the core.
		panic("qsem: unexpected result: " + C.GoString(C.qsem_strerror(r)))
	}
}

// wake sends on the channel of every wait in the list the core notified
// (see core.c for why notify does not do it itself).
func wake(gw *C.struct_qsemgo_wait) {
	for gw != nil {
		next := gw.next // gw may be freed by the unref below
		h := cgo.Handle(gw.handle)
		ready := h.Value().(chan struct{})
		if C.qsemgo_wait_unref(gw) != 0 {
			h.Delete()
		}
		// The channel has room for the one wake-up a wait gets.
		select {
		case ready <- struct{}{}:
		default:
		}
		gw = next
	}
}
