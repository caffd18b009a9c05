#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh DIR GO-ARGS...: run the go tool in DIR for a ctest entry.
#
# cgo does not see changes to C files outside a package's directory, and
# the package compiles the core from csrc/ by #include, so a warm Go build
# cache could test a stale core.  A digest of the C sources in CGO_CFLAGS
# is part of every cache key and rebuilds the package whenever they change.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=$1
shift
sum=$(cat "$src"/csrc/*.[ch] "$src"/bindings/go/*.[ch] | sha256sum | cut -c1-16)
export CGO_CFLAGS="${CGO_CFLAGS:--g -O2} -DQSEM_CORE_SUM=$sum"
export GOTOOLCHAIN=local
# CMake passes the go it found; by hand, /usr/local/go first, since
# Debian's golang-go, if installed too, is older than the module's go line.
go=${QSEM_GO:-}
if [ -z "$go" ]; then
    go=/usr/local/go/bin/go
    [ -x "$go" ] || go=go
fi
cd "$dir"
exec "$go" "$@"
