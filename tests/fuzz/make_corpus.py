#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus of fuzz_qsem (tests/fuzz/corpus/).

Each seed is a short schedule in the input format of fuzz_qsem.c: a header
(mode and thread count, maximum, initial count) and (op, count) pairs.  The
seeds only give the fuzzer a head start into the interesting states (queued
waiters, closes, hostile counts, asynchronous waiters granted, cancelled
and freed among blocked threads); it mutates them from there.
"""
import os
import sys

# Operation codes (low nibble of an op byte; the high nibble picks a thread).
ACQ, ACQ_INTR, ACQ_LONG, ACQ_SHORT, TRY, TRY_UNTIL, REL, REL2, INTR, CLOSE, \
    REF, UNREF, BADFLAGS, BURST = range(14)
# Asynchronous waiter operations (fuzz_qsem.c, enum waiter_op): op code 14
# carries 0-3 and 15 carries 4-7, the high nibble holding slot | op % 4 << 2.
W_NEW, W_START, W_RESULT, W_CLAIM, W_CANCEL, W_FREE, W_NEW_START, W_CLAIM_RELEASE = range(8)
# Count selectors (see decode_count).
NEG, I64MIN, I64MAX, VMAX, ZERO, MAX, MAXP1, VMAXP1, MAXM1 = range(9)


def small(k):
    """A small count, 1 to 4."""
    return 9 + 16 * (k - 1)


def op(code, thread=0, count=small(1)):
    return bytes([code | (thread << 4), count])


def wop(kind, slot=0, count=None):
    """An operation on asynchronous waiter `slot` (0-3)."""
    return bytes([(14 + kind // 4) | ((slot | (kind % 4) << 2) << 4),
                  small(1) if count is None else count])


def pause():
    """Wait out a window (QSEM_WINDOW_NS + QSEM_STARVE_NS): the close op
    with thread bits 1."""
    return op(CLOSE, 1)


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
    # Asynchronous waiters.  A waiter granted by a release, then cancelled
    # before its claim: the tokens go back (conservation), notify ran once.
    "waiter_grant_cancel": header() + wop(W_NEW_START, 0, small(2)) + op(REL, 0, small(2))
        + wop(W_RESULT) + wop(W_CANCEL) + op(TRY, 0, small(2)) + wop(W_START),
    # Cancelled while queued ahead of a blocked thread: the thread is served
    # by the next release and the waiter's notify never runs.
    "waiter_queue_cancel": header() + wop(W_NEW_START, 0, small(3)) + op(ACQ, 0, small(1))
        + wop(W_CANCEL) + op(REL, 0, small(1)) + op(REL, 0, small(3)) + wop(W_RESULT),
    # Freed while queued, then the tokens it wanted arrive: no notify after free.
    "waiter_free_queued": header() + wop(W_NEW_START, 1, small(2)) + wop(W_NEW_START, 2, small(1))
        + wop(W_FREE, 1) + op(REL, 0, small(2)) + wop(W_CLAIM, 2) + wop(W_FREE, 2),
    # Granted at start, claimed, given back; a second start before the claim is EBUSY.
    "waiter_claim_release": header(initial=2) + wop(W_NEW_START, 0, small(2)) + wop(W_START)
        + wop(W_CLAIM_RELEASE) + wop(W_NEW_START, 1, small(3)) + op(REL, 0, small(1))
        + wop(W_FREE, 1) + wop(W_CLAIM_RELEASE, 0),
    # Close resolves queued waiters with ECANCELED; granted ones keep their tokens.
    "waiter_close": header(threads=3, initial=1) + wop(W_NEW_START, 1, small(1))
        + wop(W_NEW_START, 0, small(2)) + op(ACQ, 0, small(1)) + op(CLOSE, 0) + wop(W_CLAIM, 0)
        + wop(W_START, 0) + wop(W_RESULT, 1) + wop(W_CANCEL, 1) + op(REL, 0, small(2)),
    # The last unref with waiters queued and granted: they keep s alive, a
    # start reports ECANCELED, and freeing the last one frees s.
    "waiter_last_unref": header(initial=1) + wop(W_NEW_START, 1, small(1))
        + wop(W_NEW_START, 0, small(2)) + op(ACQ, 0, small(1)) + op(UNREF) + wop(W_CLAIM, 0)
        + wop(W_START, 0) + wop(W_RESULT, 1) + wop(W_FREE, 0) + wop(W_CANCEL, 1) + wop(W_FREE, 1),
    # Strict order among threads and waiters, then a cancelled head lets the rest through.
    "waiter_fifo_mixed": header(fifo=True, threads=3) + op(ACQ, 0, small(2))
        + wop(W_NEW_START, 0, small(1)) + op(ACQ, 1, small(1)) + wop(W_NEW_START, 1, small(3))
        + op(REL, 0, small(1)) + op(REL, 0, small(2)) + wop(W_CANCEL, 1) + op(REL, 0, small(1))
        + wop(W_CLAIM, 0),
    # A bounded semaphore released to its maximum while a grant is unclaimed:
    # the cancel's give-back is clamped to max.
    "waiter_clamp": header(maximum=4, initial=2) + wop(W_NEW_START, 0, small(2))
        + op(REL, 0, small(4)) + wop(W_CANCEL) + op(TRY, 0, small(4)),
    # Racing calls of a burst resolve queued waiters on worker threads.
    # Burst threads start asynchronous waiters and cancel them after a few
    # polls while the others take and release: cancels meet grants.
    "waiter_burst_cancel": header(threads=4, maximum=4, initial=2) + op(BURST)
        + bytes([0x00, 0x02, 0x00, 0x02, 0x00, 0x02, 0x00, 0x02,
                 0x07, 0x17, 0x27, 0x37, 0x47, 0x57, 0x67, 0x77,
                 0x03, 0x87, 0x03, 0x97, 0x03, 0xA7, 0x03, 0xB7,
                 0x04, 0x06, 0xC7, 0x04, 0x06, 0xD7, 0x04, 0xE7])
        + op(BURST) + bytes(range(7, 256, 8))[:32] + wop(W_NEW_START, 0, small(3)) + op(BURST)
        + bytes(range(2, 256, 5))[:32],
    "waiter_burst": header(threads=4, initial=0) + wop(W_NEW_START, 0, small(1))
        + wop(W_NEW_START, 1, small(2)) + op(REL, 0, small(4)) + op(BURST)
        + bytes(range(3, 256, 11))[:24] + wop(W_CLAIM_RELEASE, 0) + wop(W_FREE, 1),
    # One waiter object started twice: granted (notify ran), claimed, then
    # queued again and cancelled.  Only this start's notifies say whether
    # the cancel met a grant (a harness bug the fuzzer found).
    "waiter_restart_cancel": header(fifo=True) + wop(W_NEW_START, 0, small(2))
        + op(REL, 0, small(2)) + wop(W_CLAIM) + wop(W_START) + wop(W_CANCEL) + wop(W_FREE),
    # The liveness window of the default mode.  The head asks for 3 of the
    # 1 released after it starved: a window opens and holds the token.  After
    # the window's time a try must end it and take the token (a window that
    # never closes fails here), and the head is served once 3 are back.
    "window_try_after_end": header() + op(ACQ, 0, small(3)) + pause() + op(REL, 0, small(1))
        + op(TRY, 0, small(1)) + pause() + op(TRY, 0, small(1)) + op(REL, 0, small(1))
        + op(REL, 0, small(2)),
    # A newcomer queues behind the window's head (or takes, if the window
    # already ended); the thread that wakes at the window's end serves it.
    "window_newcomer_served": header() + op(ACQ, 0, small(3)) + pause() + op(REL, 0, small(1))
        + op(ACQ, 1, small(1)) + pause() + op(ACQ_LONG, 2, small(1)) + op(REL, 0, small(3))
        + op(REL, 0, small(1)),
    # An async waiter at the head has no thread to end its window: the next
    # release, try or newcomer after the window's time does.
    "window_waiter_head": header() + wop(W_NEW_START, 0, small(3)) + pause() + op(REL, 0, small(1))
        + wop(W_NEW_START, 1, small(1)) + pause() + op(TRY, 0, small(1)) + wop(W_RESULT, 1)
        + op(REL, 0, small(2)) + wop(W_CLAIM_RELEASE, 0) + wop(W_CLAIM_RELEASE, 1),
    # The head leaves during its window: by timeout, by a signal, by a
    # cancel; the dispatcher then serves whoever fits behind it.
    "window_head_leaves": header(threads=4) + op(ACQ_INTR, 0, small(3)) + pause()
        + op(REL, 0, small(1)) + op(ACQ, 1, small(1)) + wop(W_NEW_START, 0, small(2))
        + op(INTR, 0) + pause() + op(REL, 0, small(1)) + wop(W_CANCEL, 0) + op(ACQ_SHORT, 2, small(4))
        + op(REL, 0, small(2)),
    # Found by fuzzing: a short wait that may or may not have queued (and
    # withdrawn, which can open a window) after the window was known over;
    # the model must keep the looser of the two.  Pauses, then release(2)
    # with heads for 3 queued and a 2 behind them.
    "window_short_withdraw": bytes.fromhex("040800012919099999999999999999999999999999999999990000002f000000990d00000099fefefefefefefefefefefefe999999999923390619"),
    # Tokens that come back during the window extend it; a burst races it.
    "window_burst": header(threads=4, initial=1) + op(ACQ, 0, small(3)) + pause()
        + op(REL, 0, small(1)) + op(BURST) + bytes(range(1, 256, 7))[:24] + pause()
        + op(REL, 0, small(1)) + op(TRY, 0, small(2)),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
