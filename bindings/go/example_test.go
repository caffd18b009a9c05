// SPDX-License-Identifier: MIT

package qsem_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"qsem.invalid/qsem"
)

// At most three jobs run at once, as with x/sync's semaphore.
func ExampleNewWeighted() {
	sem := qsem.NewWeighted(3)
	ctx := context.Background()
	results := make([]int, 10)
	for i := range results {
		if err := sem.Acquire(ctx, 1); err != nil {
			panic(err)
		}
		go func() {
			defer sem.Release(1)
			results[i] = i * i
		}()
	}
	// Taking every token waits for every job.
	if err := sem.Acquire(ctx, 3); err != nil {
		panic(err)
	}
	fmt.Println(results)
	// Output: [0 1 4 9 16 25 36 49 64 81]
}

// A bounded pool that starts empty; a timed wait; Close ends every wait.
func ExampleNew() {
	pool, err := qsem.New(0, qsem.WithMax(2))
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	fmt.Println(pool.Acquire(ctx, 1))

	pool.Release(2)
	fmt.Println(pool.Available(), pool.TryAcquire(2))

	pool.Close()
	err = pool.Acquire(context.Background(), 1)
	fmt.Println(errors.Is(err, qsem.ErrClosed))
	// Output:
	// context deadline exceeded
	// 2 true
	// true
}
