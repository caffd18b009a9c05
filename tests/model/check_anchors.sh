#!/bin/sh
# SPDX-License-Identifier: MIT
# Check that every "@anchor <step> <file>:<line> <text>" line in a model's
# header still matches the C code: line <line> of csrc/<file> must contain
# <text> (whitespace-trimmed).  A mismatch means the C code changed under the
# model: review the step, then update the anchor.  An anchor whose text now
# stands, once, on another line only moved: that is noted, not failed.  With
# --fix such anchors are renumbered in place.
#   check_anchors.sh [--fix] <model.pml> <csrc dir>
set -eu
fix=0
if [ "$1" = "--fix" ]; then fix=1; shift; fi
model=$1 csrc=$2
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
bad=0 n=0
grep -n '@anchor' "$model" | grep -v '"@anchor' | while IFS= read -r entry; do
    mline=${entry%%:*}
    rest=$(printf '%s' "${entry#*@anchor}" | sed 's/^ *//')
    step=${rest%% *}
    rest=$(printf '%s' "${rest#* }" | sed 's/^ *//')
    loc=${rest%% *}
    text=$(printf '%s' "${rest#* }" | sed 's/^ *//;s/ *$//')
    file=${loc%%:*}
    line=${loc#*:}
    case $text in
    *'*/'*)
        echo "$model:$mline: step '$step': quoted text contains */, which ends the model's comment" >&2
        echo bad
        continue
        ;;
    esac
    actual=$(sed -n "${line}p" "$csrc/$file" | sed 's/^ *//;s/ *$//')
    if [ "$actual" = "$text" ]; then
        echo ok
        continue
    fi
    found=$(grep -nF -- "$text" "$csrc/$file" | cut -d: -f1)
    count=$(printf '%s' "$found" | grep -c . || true)
    if [ "$fix" = 1 ] && [ "$count" = 1 ]; then
        sed -i "${mline}s/$file:$line /$file:$found /" "$model"
        echo "fixed: $step $file:$line -> $file:$found" >&2
        echo ok
    elif [ "$count" = 1 ]; then
        # Same text, another line: the code around it grew, the step did not change.
        echo "$model:$mline: note: step '$step': $file:$line is now line $found (--fix renumbers)" >&2
        echo ok
    else
        echo "$model:$mline: step '$step': $file:$line no longer reads" >&2
        echo "    $text" >&2
        echo "    (now: $actual; found $count times elsewhere): review the model step" >&2
        echo bad
    fi
done >"$tmp"
n=$(grep -c . "$tmp" || true)
bad=$(grep -c bad "$tmp" || true)
if [ "$n" -eq 0 ]; then
    echo "check_anchors: no @anchor lines in $model" >&2
    exit 1
fi
echo "check_anchors: $n anchors, $bad stale"
[ "$bad" -eq 0 ]
