// The Go front end (SWIG, cgo): panics for errors, false for timeouts,
// goroutines that keep running while one blocks in C, and handle lifetime.
// This file is copied next to the generated qsem.go at build time.
package qsem

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Generous bound for anything that should happen "soon": two noisy cores.
const slack = 5 * time.Second

// panicText runs f and returns what it panicked with, or "" if it returned.
func panicText(f func()) (text string) {
	defer func() {
		if r := recover(); r != nil {
			text = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	got := panicText(f)
	if !strings.Contains(got, want) {
		t.Fatalf("panic %q, want one containing %q", got, want)
	}
}

func awaitWaiters(t *testing.T, s Semaphore, n int64) {
	t.Helper()
	deadline := time.Now().Add(slack)
	for s.Waiting() != n {
		if time.Now().After(deadline) {
			t.Fatalf("never saw %d waiter(s)", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConstruct(t *testing.T) {
	s := NewSemaphore(3, 10, true)
	defer DeleteSemaphore(s)
	if s.Available() != 3 || s.Max() != 10 || s.Waiting() != 0 || s.Closed() {
		t.Fatalf("fresh semaphore: available %d max %d waiting %d closed %v",
			s.Available(), s.Max(), s.Waiting(), s.Closed())
	}
	if VALUE_MAX < 1<<31-1 {
		t.Fatalf("VALUE_MAX %d", VALUE_MAX)
	}
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(Version()) {
		t.Fatalf("Version() %q", Version())
	}
	if b := Backend(); b != "futex" && b != "pthread" {
		t.Fatalf("Backend() %q", b)
	}
}

func TestMultiTokenAcquireRelease(t *testing.T) {
	s := NewSemaphore(5, VALUE_MAX, false)
	defer DeleteSemaphore(s)
	s.Acquire(3)
	if s.Available() != 2 {
		t.Fatalf("available %d after acquiring 3 of 5", s.Available())
	}
	s.Acquire(0)
	s.Release(4)
	if s.Available() != 6 {
		t.Fatalf("available %d, want 6", s.Available())
	}
}

func TestTryAcquire(t *testing.T) {
	s := NewSemaphore(2, VALUE_MAX, false)
	defer DeleteSemaphore(s)
	if s.TryAcquire(3, 0) {
		t.Fatal("took 3 of 2 tokens")
	}
	if s.Available() != 2 {
		t.Fatal("a failed try changed the count")
	}
	if !s.TryAcquire(2, 0) || s.TryAcquire(1, 0) || s.Available() != 0 {
		t.Fatal("try-acquire of exactly what is free")
	}
}

func TestTimeout(t *testing.T) {
	s := NewSemaphore(0, VALUE_MAX, false)
	defer DeleteSemaphore(s)
	start := time.Now()
	if s.TryAcquireNs(1, int64(200*time.Millisecond)) {
		t.Fatal("acquired from an empty semaphore")
	}
	if e := time.Since(start); e < 190*time.Millisecond || e > slack {
		t.Fatalf("timed wait took %v, want about 200ms", e)
	}
	start = time.Now()
	if s.TryAcquire(1, 0.1) {
		t.Fatal("acquired from an empty semaphore")
	}
	if e := time.Since(start); e < 90*time.Millisecond {
		t.Fatalf("timed wait ended early: %v", e)
	}
	if s.TryAcquire(1, -1) {
		t.Fatal("negative timeout acquired")
	}
}

func TestTimedAcquireSucceedsWhenReleasedInTime(t *testing.T) {
	s := NewSemaphore(0, VALUE_MAX, false)
	defer DeleteSemaphore(s)
	go func() {
		time.Sleep(50 * time.Millisecond)
		s.Release(2)
	}()
	if !s.TryAcquireNs(2, int64(slack)) {
		t.Fatal("timed out although tokens were released")
	}
}

func TestReleasePastMaxPanicsAndChangesNothing(t *testing.T) {
	s := NewSemaphore(1, 2, false)
	defer DeleteSemaphore(s)
	s.Release(1)
	mustPanic(t, "maximum", func() { s.Release(1) })
	if s.Available() != 2 {
		t.Fatalf("available %d after a failed release", s.Available())
	}
	full := NewSemaphore(VALUE_MAX, VALUE_MAX, false)
	defer DeleteSemaphore(full)
	mustPanic(t, "maximum", func() { full.Release(1) })
}

func TestBadArgumentsPanicAndChangeNothing(t *testing.T) {
	s := NewSemaphore(2, 4, false)
	defer DeleteSemaphore(s)
	mustPanic(t, "invalid argument", func() { s.Acquire(-1) })
	mustPanic(t, "invalid argument", func() { s.Acquire(5) })
	mustPanic(t, "invalid argument", func() { s.TryAcquire(-1, 0) })
	mustPanic(t, "invalid argument", func() { s.TryAcquireNs(-1, 0) })
	nan := 0.0
	nan = nan / nan
	mustPanic(t, "invalid argument", func() { s.TryAcquire(1, nan) })
	mustPanic(t, "invalid argument", func() { s.Release(-1) })
	mustPanic(t, "invalid argument", func() { NewSemaphore(-1, VALUE_MAX, false) })
	mustPanic(t, "invalid argument", func() { NewSemaphore(3, 2, false) })
	if s.Available() != 2 {
		t.Fatalf("available %d after bad calls", s.Available())
	}
}

func TestCloseWakesAWaitingGoroutine(t *testing.T) {
	s := NewSemaphore(0, VALUE_MAX, false)
	defer DeleteSemaphore(s)
	done := make(chan string, 1)
	go func() { done <- panicText(func() { s.Acquire(2) }) }()
	awaitWaiters(t, s, 1)
	s.Close()
	select {
	case msg := <-done:
		if !strings.Contains(msg, "closed") {
			t.Fatalf("waiter ended with %q, want a closed panic", msg)
		}
	case <-time.After(slack):
		t.Fatal("close did not wake the waiter")
	}
	if !s.Closed() {
		t.Fatal("Closed() false after Close()")
	}
	mustPanic(t, "closed", func() { s.Acquire(1) })
	mustPanic(t, "closed", func() { s.TryAcquire(1, 0) })
	s.Release(1)
	if s.Available() != 1 {
		t.Fatal("release after close did not count")
	}
	s.Close()
}

func TestTwoGoroutineHandoff(t *testing.T) {
	ping := NewSemaphore(0, VALUE_MAX, false)
	pong := NewSemaphore(0, VALUE_MAX, false)
	defer DeleteSemaphore(ping)
	defer DeleteSemaphore(pong)
	const rounds = 1000
	done := make(chan struct{})
	go func() {
		for i := 0; i < rounds; i++ {
			ping.Acquire(1)
			pong.Release(1)
		}
		close(done)
	}()
	for i := 0; i < rounds; i++ {
		ping.Release(1)
		pong.Acquire(1)
	}
	<-done
	if ping.Available() != 0 || pong.Available() != 0 {
		t.Fatal("tokens left over after the handoff")
	}
}

// A goroutine blocked in C occupies one OS thread; the scheduler keeps the
// others running, even with many blocked at once.
func TestBlockedAcquiresLeaveGoroutinesRunning(t *testing.T) {
	s := NewSemaphore(0, VALUE_MAX, false)
	defer DeleteSemaphore(s)
	const blocked = 8
	done := make(chan struct{}, blocked)
	for i := 0; i < blocked; i++ {
		go func() { s.Acquire(1); done <- struct{}{} }()
	}
	awaitWaiters(t, s, blocked)
	ticks := 0
	for deadline := time.Now().Add(100 * time.Millisecond); time.Now().Before(deadline); {
		ch := make(chan int)
		go func() { ch <- 1 }()
		ticks += <-ch
	}
	if ticks < 10 {
		t.Fatalf("only %d goroutine round trips while waiters blocked", ticks)
	}
	s.Release(blocked)
	for i := 0; i < blocked; i++ {
		<-done
	}
}

func TestDeletingTheLastHandleWhileAGoroutineWaits(t *testing.T) {
	s := NewSemaphore(0, VALUE_MAX, false)
	done := make(chan string, 1)
	go func() { done <- panicText(func() { s.Acquire(1) }) }()
	awaitWaiters(t, s, 1)
	DeleteSemaphore(s)
	select {
	case msg := <-done:
		if !strings.Contains(msg, "closed") {
			t.Fatalf("waiter ended with %q, want a closed panic", msg)
		}
	case <-time.After(slack):
		t.Fatal("dropping the last handle did not wake the waiter")
	}
}

func TestDeletingOneOfTwoHandlesKeepsTheSemaphoreOpen(t *testing.T) {
	a := NewSemaphore(0, VALUE_MAX, false)
	b := a.Dup()
	defer DeleteSemaphore(b)
	got := make(chan bool, 1)
	go func() { got <- b.TryAcquireNs(1, int64(slack)) }()
	awaitWaiters(t, b, 1)
	DeleteSemaphore(a)
	if b.Closed() {
		t.Fatal("closed while a handle remains")
	}
	b.Release(1)
	if !<-got {
		t.Fatal("waiter did not get the released token")
	}
}
