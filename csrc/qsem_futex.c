/* SPDX-License-Identifier: MIT
 * qsem_futex.c: the Linux wait back end.  A blocked thread sleeps on the
 * `pending` word of its own queue node, so a release wakes exactly the
 * threads it served and nobody else.
 *
 * Protocol.  A queued thread that decides to sleep first turns its `pending`
 * word from QSEM__AWAKE to QSEM__ASLEEP with a CAS, then sleeps with
 * FUTEX_WAIT_BITSET while the word is QSEM__ASLEEP.  The dispatcher swaps
 * the word to 0 (release MO, see qsem.c) and calls FUTEX_WAKE only if it
 * was QSEM__ASLEEP: a thread still awake sees the 0 by itself, and no
 * system call is made on either side.  If the swap comes first the CAS or
 * the wait (EAGAIN) fails at once, so no wake-up is lost between the
 * thread's last look at the word and its sleep.  The wake may reach a word whose thread has already seen 0
 * and returned; the kernel then wakes nobody, or a later sleeper at the
 * same address spuriously, and all our sleepers look at their word again.
 *
 * Deadlines (docs/contract.md, "Timeouts").  FUTEX_WAIT_BITSET takes an absolute
 * CLOCK_MONOTONIC time, so a spurious wake-up or a signal resumes with
 * exactly the time that is left, and setting the wall clock changes
 * nothing.
 *
 * Signals (docs/contract.md, "Interruption").  A futex wait interrupted by a signal handler
 * returns EINTR if it had a timeout; without one the kernel restarts it
 * silently when the handler was installed with SA_RESTART.  So a QSEM_INTR
 * wait with no deadline still passes a (far) timeout: then every handler
 * that runs ends the wait, whatever its flags.
 */
#define _GNU_SOURCE   /* syscall() */

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "qsem_internal.h"

static const int qsem__unpark_needs_lock = 0;

const char *qsem_backend(void)
{
    return "futex";
}

static int qsem__park_prepare(struct qsem__node *node)
{
    node->wake_fd = -1;
    node->park_fd = -1;
    return 0;
}

/* A futex word lives in the sleeper's own memory, which the child has a
 * copy of, and FUTEX_PRIVATE_FLAG keeps the two processes apart. */
static void qsem__park_atfork_child(int self_queued)
{
    (void)self_queued;
}

static int qsem__park(struct qsem__node *node, int64_t deadline_ns, unsigned flags)
{
    struct timespec ts, *tsp = NULL;

    if (deadline_ns != QSEM_FOREVER) {
        ts.tv_sec = (time_t)(deadline_ns / 1000000000);
        ts.tv_nsec = (long)(deadline_ns % 1000000000);
        tsp = &ts;
    } else if (flags & QSEM_INTR) {
        /* About 68 years of uptime: forever, but a timed wait (see top). */
        ts.tv_sec = INT32_MAX;
        ts.tv_nsec = 0;
        tsp = &ts;
    }
    long r = syscall(SYS_futex, &node->pending, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
                     QSEM__ASLEEP, tsp, NULL, FUTEX_BITSET_MATCH_ANY);
    if (r == 0)
        return 0;
    switch (errno) {
    case EAGAIN:      /* `pending` was no longer QSEM__ASLEEP: look again */
        return 0;
    case EINTR:       /* a handler ran; the deadline is absolute, so a resumed wait keeps it */
        return (flags & QSEM_INTR) ? EINTR : 0;
    case ETIMEDOUT:   /* the absolute deadline passed */
        return ETIMEDOUT;
    default:          /* EFAULT, EINVAL, ENOSYS: a bug or a broken kernel */
        qsem__fatal("FUTEX_WAIT_BITSET failed", errno);
    }
}

static void qsem__unpark(_Atomic uint32_t *pending, int wake_fd)
{
    (void)wake_fd;
    /* Errors are ignored: EFAULT or EINVAL can only mean that the sleeper
     * returned and its stack went away, and then nobody needs waking. */
    (void)syscall(SYS_futex, pending, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0);
}
