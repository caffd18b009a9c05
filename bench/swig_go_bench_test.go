// qsem's SWIG Go binding against a buffered channel, Go's idiomatic counting
// semaphore.  bench/report.py copies this file next to the generated
// package (BUILD/bindings/swig/go/qsem) in a scratch copy and runs
//
//	go test -run '^$' -bench . -count 1
//
// once per round, so that the rounds interleave as in the other benchmarks.
package qsem

import (
	"testing"
	"time"
)

// The two sides of every benchmark, behind one small interface so that the
// loops are the same code.
type benchSem interface {
	acquire()
	release()
}

type qsemSide struct{ s Semaphore }

func (q qsemSide) acquire() { q.s.Acquire(1) }
func (q qsemSide) release() { q.s.Release(1) }

// A channel of capacity VALUE_MAX is impossible; a large one holds the
// tokens as buffered values: acquire receives one, release sends one back.
type chanSide chan struct{}

func (c chanSide) acquire() { <-c }
func (c chanSide) release() { c <- struct{}{} }

func newQsem(initial int64) benchSem { return qsemSide{NewSemaphore(initial, VALUE_MAX, false)} }

func newChan(initial int64) benchSem {
	c := make(chanSide, 1<<16)
	for i := int64(0); i < initial; i++ {
		c <- struct{}{}
	}
	return c
}

func pair(b *testing.B, newSem func(int64) benchSem) {
	s := newSem(1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.acquire()
		s.release()
	}
}

// ns/handoff: each iteration passes the token there and back.
func handoff(b *testing.B, newSem func(int64) benchSem) {
	ping, pong := newSem(0), newSem(0)
	done := make(chan struct{})
	go func() {
		for i := 0; i < b.N; i++ {
			ping.acquire()
			pong.release()
		}
		close(done)
	}()
	b.ResetTimer()
	t0 := time.Now()
	for i := 0; i < b.N; i++ {
		ping.release()
		pong.acquire()
	}
	<-done
	b.StopTimer()
	b.ReportMetric(float64(time.Since(t0).Nanoseconds())/float64(2*b.N), "ns/handoff")
}

func BenchmarkPairQsem(b *testing.B)    { pair(b, newQsem) }
func BenchmarkPairChan(b *testing.B)    { pair(b, newChan) }
func BenchmarkHandoffQsem(b *testing.B) { handoff(b, newQsem) }
func BenchmarkHandoffChan(b *testing.B) { handoff(b, newChan) }
