#!/bin/sh
# SPDX-License-Identifier: MIT
# Verify qsem.pml with spin in one configuration.
#   run_spin.sh <model.pml> <pass|fail> <work dir> [spin -D switches...]
# pass: the search must complete with no error of any kind.
# fail: a planted bug (a BROKEN_ switch): the search must find a violation,
#       proving that the properties can see that kind of bug.
set -eu
model=$1 expect=$2 work=$3
shift 3
mkdir -p "$work"
cd "$work"
rm -f pan pan.* ./*.trail
cp "$model" model.pml
spin -a "$@" model.pml
# SAFETY: assertions and end states only (no cycle search is needed);
# COLLAPSE: compressed state vectors, so the larger configurations fit.
cc -O2 -DSAFETY -DCOLLAPSE -o pan pan.c
status=0
./pan -m200000 -w24 >pan.out 2>&1 || status=$?
cat pan.out
errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' pan.out)
if [ -z "$errors" ]; then
    echo "run_spin: pan gave no result (exit $status)" >&2
    exit 1
fi
case $expect in
pass)
    if [ "$errors" -ne 0 ]; then
        echo "run_spin: $errors error(s); counterexample:" >&2
        spin -t -p -g -l model.pml >&2 || true
        exit 1
    fi
    if grep -q "max search depth too small" pan.out; then
        echo "run_spin: search truncated by the depth bound" >&2
        exit 1
    fi
    ;;
fail)
    if [ "$errors" -eq 0 ]; then
        echo "run_spin: the planted bug ($*) went unnoticed" >&2
        exit 1
    fi
    echo "run_spin: planted bug found as expected:"
    grep "pan:1:" pan.out
    ;;
*)
    echo "run_spin: expect pass or fail, not $expect" >&2
    exit 2
    ;;
esac
