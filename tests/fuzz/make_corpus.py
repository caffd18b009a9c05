#!/usr/bin/env python3
"""Write the seed corpus of fuzz_qsem (tests/fuzz/corpus/).

Each seed is a short schedule in the input format of fuzz_qsem.c: a header
(mode and thread count, maximum, initial count) and (op, count) pairs.  The
seeds only give the fuzzer a head start into the interesting states (queued
waiters, closes, hostile counts); it mutates them from there.
"""
import os
import sys

# Operation codes (low nibble of an op byte; the high nibble picks a thread).
ACQ, ACQ_INTR, ACQ_LONG, ACQ_SHORT, TRY, TRY_UNTIL, REL, REL2, INTR, CLOSE, \
    REF, UNREF, BADFLAGS, BURST = range(14)
# Count selectors (see decode_count).
NEG, I64MIN, I64MAX, VMAX, ZERO, MAX, MAXP1, VMAXP1, MAXM1 = range(9)


def small(k):
    """A small count, 1 to 4."""
    return 9 + 16 * (k - 1)


def op(code, thread=0, count=small(1)):
    return bytes([code | (thread << 4), count])


def header(threads=3, fifo=False, maximum=8, initial=0):
    return bytes([(1 if fifo else 0) | ((threads - 2) << 1), maximum, initial])


SEEDS = {
    "release_serves_queue": header() + op(ACQ, 0, small(2)) + op(ACQ, 1, small(1))
        + op(REL, 0, small(1)) + op(REL, 0, small(2)),
    "fifo_head_blocks": header(fifo=True, initial=1) + op(ACQ, 0, small(3)) + op(ACQ, 1, small(1))
        + op(TRY, 0, small(1)) + op(REL, 0, small(2)) + op(REL, 0, small(2)),
    "timeout_withdraw_fifo": header(fifo=True) + op(ACQ_SHORT, 0, small(2)) + op(ACQ, 1, small(1))
        + op(ACQ_SHORT, 2, small(1)) + op(REL, 0, small(1)),
    "interrupt": header(initial=0) + op(ACQ_INTR, 0, small(2)) + op(ACQ, 1, small(1))
        + op(INTR, 1) + op(INTR, 0) + op(REL, 0, small(1)),
    "close_wakes": header(threads=4) + op(ACQ, 0) + op(ACQ_LONG, 1, small(2)) + op(ACQ_INTR, 2)
        + op(CLOSE, 0) + op(TRY, 0) + op(REL, 0, small(3)) + op(ACQ, 0),
    "last_unref": header() + op(REF) + op(ACQ, 0, small(2)) + op(UNREF) + op(UNREF),
    "hostile_counts": header(maximum=0x80 | MAX, initial=0x80 | ZERO)
        + b"".join(op(c, 0, s) for c in (ACQ, TRY, TRY_UNTIL, REL, ACQ_SHORT)
                   for s in (NEG, I64MIN, I64MAX, VMAX, ZERO, MAX, MAXP1, VMAXP1, MAXM1)),
    "value_max": header(maximum=0x80 | VMAX, initial=0x80 | MAX) + op(TRY, 0, VMAX)
        + op(ACQ, 0, VMAX) + op(REL, 0, VMAX) + op(REL, 0, small(1)) + op(BADFLAGS, 1),
    "burst": header(threads=4, initial=3) + op(ACQ, 0, small(4)) + op(BURST)
        + bytes(range(0, 256, 9))[:24] + op(REL, 0, small(1)),
    "bad_new": bytes([0xF0, 8, 0]),
    # A hostile maximum whose neighbours overflow int64 (a harness bug the
    # fuzzer found: max + 1 with max = INT64_MAX).
    "hostile_max_above": header(maximum=0x80 | I64MAX, initial=0x80 | MAXP1) + op(REL, 0, MAXP1),
    "hostile_max_below": header(maximum=0x80 | I64MIN, initial=0x80 | MAXM1) + op(ACQ, 0, MAXM1),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
