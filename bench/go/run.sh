#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh [-quick] [-reps N] [-benchtime D] [-json FILE]: qsem's Go package against
# x/sync's Weighted and a buffered channel (see main.go).  x/sync comes
# from the Go module proxy, pinned by go.mod and go.sum.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../../tests/go/run.sh" "$here" run . "$@"
