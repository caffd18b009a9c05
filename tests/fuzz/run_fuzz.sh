#!/bin/sh
# SPDX-License-Identifier: MIT
# Run fuzz_qsem for a bounded time from the committed seeds.  New inputs go
# to a scratch corpus in the build tree, never into the source tree; a crash
# leaves its input there as crash-* for reproduction (fuzz_qsem <file>).
#   run_fuzz.sh <fuzz_qsem binary> <seed corpus> <work dir> <seconds>
set -eu
bin=$1 seeds=$2 work=$3 secs=$4
mkdir -p "$work/corpus"
# -timeout: a single schedule takes milliseconds; 60 s means a hang, which
# fuzz_qsem's own watchdogs report first with a precise message.
exec "$bin" -max_total_time="$secs" -timeout=60 -rss_limit_mb=2048 -max_len=512 \
    -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" "$seeds"
