#!/bin/sh
# SPDX-License-Identifier: MIT
# timed.sh LOG NAME COMMAND...: run COMMAND, append "NAME  seconds  result"
# to LOG, and print every line of LOG so far when COMMAND fails, so that
# `make test` ends with a time per suite whether it passes or not.
set -u
log=$1 name=$2
shift 2
start=$(date +%s)
"$@"
rc=$?
end=$(date +%s)
result=ok
[ $rc -eq 0 ] || result="FAILED ($rc)"
printf '%-34s %6ss  %s\n' "$name" $((end - start)) "$result" >>"$log"
if [ $rc -ne 0 ]; then
    echo "== time per suite (stopped at the first failure)"
    cat "$log"
fi
exit $rc
