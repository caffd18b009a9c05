#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install test for the Go package: a module of one's own, outside the
# repository, takes qsem.invalid/qsem through a replace directive (the way
# docs/go.md says to), with an empty GOPATH, module cache and build cache
# and no module proxy, then `go run`s a small program against it.
set -euo pipefail
: "${QSEM_SOURCE_DIR:?QSEM_SOURCE_DIR is not set}"
# The toolchain in /usr/local/go first: Debian's golang-go, if installed
# too, is older than the module's go line.
if [ -n "${QSEM_GO:-}" ]; then
    go=$QSEM_GO
elif [ -x /usr/local/go/bin/go ]; then
    go=/usr/local/go/bin/go
else
    go=$(command -v go) || { echo "install test: no go tool found" >&2; exit 1; }
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GOPATH="$tmp/gopath" GOMODCACHE="$tmp/gopath/pkg/mod" GOCACHE="$tmp/gocache"
export GOFLAGS=-modcacherw GOPROXY=off GOTOOLCHAIN=local GOWORK=off
mkdir "$tmp/app"
cd "$tmp/app"

cat > go.mod <<MOD
module example.com/app

go 1.24

require qsem.invalid/qsem v0.0.0

replace qsem.invalid/qsem => $QSEM_SOURCE_DIR/bindings/go
MOD

cat > main.go <<'GO'
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"qsem.invalid/qsem"
)

func check(ok bool, what string) {
	if !ok {
		fmt.Fprintln(os.Stderr, "install test: "+what)
		os.Exit(1)
	}
}

func main() {
	// x/sync's API: at most 3 workers at a time.
	sem := qsem.NewWeighted(3)
	var mu sync.Mutex
	running, peak := 0, 0
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sem.Acquire(context.Background(), 1); err != nil {
				panic(err)
			}
			defer sem.Release(1)
			mu.Lock()
			running++
			peak = max(peak, running)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			running--
			mu.Unlock()
		}()
	}
	wg.Wait()
	check(peak >= 1 && peak <= 3, fmt.Sprintf("peak %d workers", peak))
	check(sem.Available() == 3, "tokens lost")

	// qsem's own: a bound, a deadline, Close.
	w, err := qsem.New(0, qsem.WithMax(2))
	check(err == nil, "New failed")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	check(w.Acquire(ctx, 1) == context.DeadlineExceeded, "timed Acquire did not time out")
	w.Close()
	check(errors.Is(w.Acquire(context.Background(), 1), qsem.ErrClosed), "no ErrClosed")
	fmt.Println("qsem install ok")
}
GO

out=$("$go" run .)
if [ "$out" != "qsem install ok" ]; then
    echo "install test: unexpected output: $out" >&2
    exit 1
fi
echo "$out"
