#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# xsync.sh: golang.org/x/sync/semaphore's own tests against qsem.
#
# The x/sync module comes from the Go module proxy (the version and its
# checksum are pinned in xsync/go.mod and xsync/go.sum).  Its semaphore
# tests, examples and benchmarks are copied, with their license header,
# into a temporary module together with x/sync's LICENSE; the only change
# is the import line, which names qsem instead of x/sync's package.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
run=$here/run.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/xsync/go.mod" "$here/xsync/go.sum" "$work/"
"$run" "$work" mod edit -replace "qsem.invalid/qsem=$src/bindings/go"
xsync=$("$run" "$work" mod download -json golang.org/x/sync | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
if [ ! -d "$xsync/semaphore" ]; then
    echo "xsync.sh: golang.org/x/sync was not downloaded" >&2
    exit 1
fi
cp "$xsync/LICENSE" "$work/LICENSE"
for f in "$xsync"/semaphore/*_test.go; do
    out="$work/$(basename "$f")"
    sed 's|^\t"golang.org/x/sync/semaphore"$|\tsemaphore "qsem.invalid/qsem"|' "$f" > "$out"
    if ! grep -q '"golang.org/x/sync/semaphore"' "$f"; then
        continue
    fi
    if grep -q '"golang.org/x/sync/semaphore"' "$out" ||
       [ "$(diff "$f" "$out" | grep -c '^[<>]')" -ne 2 ]; then
        echo "xsync.sh: $(basename "$f"): the import line is not where it was expected" >&2
        exit 1
    fi
done
ls "$work"/*_test.go
# The tests and examples in full; every benchmark once, to prove it runs
# against qsem (bench/go measures).
exec "$run" "$work" test -count=1 -v -bench . -benchtime 1x .
