// SPDX-License-Identifier: MIT

package qsem_test

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"qsem.invalid/qsem"
)

// waitQueued polls until n goroutines wait on w (queueing is asynchronous).
func waitQueued(t *testing.T, w *qsem.Weighted, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for w.Waiting() != n {
		if time.Now().After(deadline) {
			t.Fatalf("Waiting() = %d, want %d", w.Waiting(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// mustPanic runs f and returns the message it panicked with.
func mustPanic(t *testing.T, what string, f func()) (msg string) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatalf("%s did not panic", what)
		}
		msg, _ = r.(string)
	}()
	f()
	return ""
}

func TestNewRejectsBadArguments(t *testing.T) {
	for _, c := range []struct {
		initial int64
		opts    []qsem.Option
	}{
		{-1, nil},
		{3, []qsem.Option{qsem.WithMax(2)}},
		{0, []qsem.Option{qsem.WithMax(-1)}},
		{0, []qsem.Option{qsem.WithMax(qsem.MaxValue + 1)}},
	} {
		if w, err := qsem.New(c.initial, c.opts...); err == nil || w != nil {
			t.Errorf("New(%d, ...) = %v, %v; want nil and an error", c.initial, w, err)
		}
	}
	w, err := qsem.New(qsem.MaxValue)
	if err != nil || w.Available() != qsem.MaxValue || w.Max() != qsem.MaxValue {
		t.Fatalf("New(MaxValue) = %v, %v", w, err)
	}
}

// x/sync's "no limit": a size above MaxValue is MaxValue.
func TestNewWeightedTakesAnySize(t *testing.T) {
	for _, n := range []int64{qsem.MaxValue, qsem.MaxValue + 1, 1<<63 - 1} {
		w := qsem.NewWeighted(n)
		if w.Available() != qsem.MaxValue || w.Max() != qsem.MaxValue {
			t.Fatalf("NewWeighted(%d): Available %d, Max %d; want MaxValue", n, w.Available(), w.Max())
		}
		if err := w.Acquire(context.Background(), 5); err != nil || !w.TryAcquire(qsem.MaxValue-5) {
			t.Fatalf("NewWeighted(%d): cannot take every token (%v)", n, err)
		}
		if w.TryAcquire(1) {
			t.Fatalf("NewWeighted(%d): a token beyond MaxValue", n)
		}
		w.Release(qsem.MaxValue)
		if w.Available() != qsem.MaxValue {
			t.Fatalf("NewWeighted(%d): Available %d after releasing all", n, w.Available())
		}
	}
}

func TestReleaseMoreThanHeldPanicsAndChangesNothing(t *testing.T) {
	w, err := qsem.New(1, qsem.WithMax(3))
	if err != nil {
		t.Fatal(err)
	}
	msg := mustPanic(t, "Release(3) with 2 held", func() { w.Release(3) })
	if msg != "semaphore: released more than held" {
		t.Errorf("panic %q", msg)
	}
	if got := w.Available(); got != 1 {
		t.Errorf("Available() after the failed Release = %d, want 1", got)
	}
	w.Release(2)
	if got := w.Available(); got != 3 {
		t.Errorf("Available() = %d, want 3", got)
	}
	// Unbounded: the limit is MaxValue.
	u, _ := qsem.New(qsem.MaxValue)
	mustPanic(t, "Release past MaxValue", func() { u.Release(1) })
}

func TestNegativeWeightsPanic(t *testing.T) {
	w := qsem.NewWeighted(2)
	for name, f := range map[string]func(){
		"Acquire":    func() { w.Acquire(context.Background(), -1) },
		"TryAcquire": func() { w.TryAcquire(-1) },
		"Release":    func() { w.Release(-1) },
	} {
		if msg := mustPanic(t, name+"(-1)", f); msg != "semaphore: n < 0" {
			t.Errorf("%s(-1) panicked with %q", name, msg)
		}
	}
	if w.Available() != 2 {
		t.Errorf("Available() = %d, want 2", w.Available())
	}
}

func TestNilAndZeroWeightedPanicRecoverably(t *testing.T) {
	var zero qsem.Weighted
	var nilw *qsem.Weighted
	for _, w := range []*qsem.Weighted{&zero, nilw} {
		ctx := context.Background()
		for name, f := range map[string]func(){
			"Acquire":    func() { w.Acquire(ctx, 1) },
			"TryAcquire": func() { w.TryAcquire(1) },
			"Release":    func() { w.Release(1) },
			"Close":      func() { w.Close() },
			"Available":  func() { w.Available() },
			"Waiting":    func() { w.Waiting() },
			"Max":        func() { w.Max() },
		} {
			if msg := mustPanic(t, name, f); !strings.HasPrefix(msg, "qsem: ") {
				t.Errorf("%s on %p panicked with %q", name, w, msg)
			}
		}
	}
}

func TestDoneContextFailsAtOnce(t *testing.T) {
	w := qsem.NewWeighted(5)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Acquire(ctx, 1); err != context.Canceled {
		t.Errorf("Acquire with a cancelled ctx = %v, want context.Canceled", err)
	}
	past, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Hour))
	defer cancel2()
	if err := w.Acquire(past, 1); err != context.DeadlineExceeded {
		t.Errorf("Acquire with a past deadline = %v, want DeadlineExceeded", err)
	}
	zero, cancel3 := context.WithTimeout(context.Background(), 0)
	defer cancel3()
	if err := w.Acquire(zero, 0); err != context.DeadlineExceeded {
		t.Errorf("Acquire(0) with a zero timeout = %v, want DeadlineExceeded", err)
	}
	if w.Available() != 5 || w.Waiting() != 0 {
		t.Errorf("Available() = %d, Waiting() = %d; want 5, 0", w.Available(), w.Waiting())
	}
}

func TestTimeoutEndsWaitWithNothingTaken(t *testing.T) {
	w := qsem.NewWeighted(2)
	w.Acquire(context.Background(), 1)
	start := time.Now() // before the deadline is set from the clock
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := w.Acquire(ctx, 2); err != context.DeadlineExceeded {
		t.Fatalf("Acquire = %v, want DeadlineExceeded", err)
	}
	if el := time.Since(start); el < 20*time.Millisecond {
		t.Errorf("the wait ended after %v, before its 20ms deadline", el)
	}
	if w.Available() != 1 || w.Waiting() != 0 {
		t.Errorf("Available() = %d, Waiting() = %d; want 1, 0", w.Available(), w.Waiting())
	}
}

func TestCloseWakesEveryWaiter(t *testing.T) {
	w, _ := qsem.New(0, qsem.WithMax(4))
	errs := make(chan error)
	const waiters = 8
	for i := 0; i < waiters; i++ {
		go func(n int64) { errs <- w.Acquire(context.Background(), n) }(int64(i%4 + 1))
	}
	// One more that asks beyond the bound waits outside the queue.
	go func() { errs <- w.Acquire(context.Background(), 5) }()
	waitQueued(t, w, waiters)
	w.Close()
	for i := 0; i < waiters+1; i++ {
		if err := <-errs; !errors.Is(err, qsem.ErrClosed) {
			t.Errorf("waiter woken by Close got %v", err)
		}
	}
	if err := w.Acquire(context.Background(), 0); err != qsem.ErrClosed {
		t.Errorf("Acquire after Close = %v", err)
	}
	if w.TryAcquire(0) {
		t.Error("TryAcquire after Close succeeded")
	}
	w.Release(4) // holders can still give back
	if w.Available() != 4 || w.Waiting() != 0 {
		t.Errorf("Available() = %d, Waiting() = %d; want 4, 0", w.Available(), w.Waiting())
	}
	w.Close() // twice is harmless
}

func TestFIFOTryAcquireFailsWhileAnyoneWaits(t *testing.T) {
	w := qsem.NewWeighted(2)
	w.Acquire(context.Background(), 1)
	done := make(chan error)
	go func() { done <- w.Acquire(context.Background(), 2) }()
	waitQueued(t, w, 1)
	if w.TryAcquire(1) {
		t.Error("TryAcquire(1) overtook a queued Acquire(2) in FIFO mode")
	}
	w.Release(1)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if w.Available() != 0 {
		t.Errorf("Available() = %d, want 0", w.Available())
	}
}

func TestCancelledWaitersLeaveNothingBehind(t *testing.T) {
	for _, fifo := range []bool{false, true} {
		opts := []qsem.Option{qsem.WithMax(10)}
		if fifo {
			opts = append(opts, qsem.WithFIFO())
		}
		w, _ := qsem.New(3, opts...)
		ctx, cancel := context.WithCancel(context.Background())
		errs := make(chan error)
		const waiters = 100
		for i := 0; i < waiters; i++ {
			go func() { errs <- w.Acquire(ctx, 4) }()
		}
		waitQueued(t, w, waiters)
		cancel()
		for i := 0; i < waiters; i++ {
			if err := <-errs; err != context.Canceled {
				t.Fatalf("fifo=%v: cancelled waiter got %v", fifo, err)
			}
		}
		if w.Waiting() != 0 || w.Available() != 3 {
			t.Errorf("fifo=%v: Waiting() = %d, Available() = %d; want 0, 3",
				fifo, w.Waiting(), w.Available())
		}
	}
}

// The ctest entries say which back end their CGO_CFLAGS select.
func TestBackendAndVersion(t *testing.T) {
	if want := os.Getenv("QSEM_EXPECT_BACKEND"); want != "" && qsem.Backend() != want {
		t.Errorf("Backend() = %q, want %q", qsem.Backend(), want)
	}
	if !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(qsem.Version()) {
		t.Errorf("Version() = %q", qsem.Version())
	}
	t.Logf("qsem %s, %s back end", qsem.Version(), qsem.Backend())
}
