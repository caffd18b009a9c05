/* SPDX-License-Identifier: MIT
 * qsem_pthread.c: the portable wait back end, for systems without futexes
 * (and built on Linux too with QSEM_FORCE_PTHREAD, so that it is tested).
 *
 * Each thread that ever blocks gets a pipe of its own, made on first use
 * and closed when the thread exits.  It sleeps in poll() on the read end;
 * the dispatcher writes one byte to the write end after clearing the
 * node's `pending` word, if the thread had said it was going to sleep
 * (QSEM__ASLEEP, see qsem_futex.c for the protocol).  poll() rather than a condition variable because
 * POSIX forbids pthread_cond_wait() from reporting EINTR, and QSEM_INTR
 * needs to see signal handlers (docs/contract.md, "Interruption"); poll() is also never
 * restarted after a handler, whatever SA_RESTART says.
 *
 * Deadlines stay absolute on CLOCK_MONOTONIC: each poll() gets the time
 * left, rounded up to a millisecond so that it never ends early, and a
 * timeout counts only once qsem_now_ns() has reached the deadline.
 *
 * A byte may arrive after the thread has stopped waiting for it (it timed
 * out while being served): the next park reads it and returns as a
 * spurious wake-up, which the caller tolerates.  The write end must stay
 * open while a waker may use it: the waker writes only under the
 * semaphore's lock, and a woken thread takes that lock once before it
 * returns (qsem__unpark_needs_lock).
 *
 * The thread finds its pipe through a thread-local pointer; a thread key
 * exists only so that its destructor closes the pipe when the thread
 * exits.  The key is deleted when the code is unloaded, and also at every
 * exit(), while other threads may still be waiting: so a sleeping thread
 * uses only the descriptors its node recorded (qsem__park_prepare), and a
 * pipe made once the key is gone is simply not closed at thread exit.
 *
 * fork().  The child's copy of the forking thread's pipe is the parent's
 * pipe: each would read the other's wake-ups.  So the child closes its
 * copies and makes a pipe of its own on its next wait; if that thread was
 * waiting when it forked (fork() from a signal handler), the new pipe takes
 * the old numbers, which its queue node names.  Pipes of the parent's other
 * threads stay open in the child (they close on exec).
 */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime, pthreads, poll */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "qsem_internal.h"

static const int qsem__unpark_needs_lock = 1;

struct qsem__parker {
    // poll() on this
    int rfd;
    // wakers write here
    int wfd;
};

static pthread_key_t qsem__parker_key;
static pthread_once_t qsem__parker_once = PTHREAD_ONCE_INIT;
static int qsem__parker_key_err;
/* Set once the key is deleted (unload or exit): no new registrations. */
static _Atomic int qsem__parker_key_gone;
/* This thread's parker, or NULL. */
static _Thread_local struct qsem__parker *qsem__parker_self;

static void qsem__parker_free(void *p)
{
    struct qsem__parker *pk = p;
    if (qsem__parker_self == pk)
        qsem__parker_self = NULL;
    close(pk->rfd);
    close(pk->wfd);
    qsem__free(pk);
}

static void qsem__parker_key_init(void)
{
    qsem__parker_key_err = pthread_key_create(&qsem__parker_key, qsem__parker_free);
}

#if defined(__GNUC__)
/* When the code that holds this back end is unloaded (a dlclose()d Lua or
 * Python module), threads that outlive it must not call a destructor that
 * is no longer mapped.  Deleting the key means their pipes are not closed
 * at exit: a few descriptors, only after an unload. */
__attribute__((destructor))
static void qsem__parker_unload(void)
{
    if (pthread_once(&qsem__parker_once, qsem__parker_key_init) == 0 && qsem__parker_key_err == 0) {
        atomic_store(&qsem__parker_key_gone, 1);
        pthread_key_delete(qsem__parker_key);
    }
}
#endif

static int qsem__set_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    int fdfl = fcntl(fd, F_GETFD);
    if (fl < 0 || fdfl < 0)
        return -1;
    if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0)
        return -1;
    return 0;
}

/* A new pipe for pk: 0, or -1 with nothing left open. */
static int qsem__parker_open(struct qsem__parker *pk)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    if (qsem__set_flags(fds[0]) != 0 || qsem__set_flags(fds[1]) != 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    pk->rfd = fds[0];
    pk->wfd = fds[1];
    return 0;
}

/* This thread's parker, made on first use; NULL when it cannot be made. */
static struct qsem__parker *qsem__parker_get(void)
{
    struct qsem__parker *pk = qsem__parker_self;
    if (pk != NULL && pk->rfd >= 0)
        return pk;
    if (pthread_once(&qsem__parker_once, qsem__parker_key_init) != 0 || qsem__parker_key_err != 0)
        return NULL;
    if (pk == NULL) {
        pk = qsem__calloc(1, sizeof *pk);
        if (pk == NULL)
            return NULL;
        pk->rfd = pk->wfd = -1;
    }
    if (pk->rfd < 0 && qsem__parker_open(pk) != 0) {
        if (pk != qsem__parker_self)
            qsem__free(pk);
        return NULL;
    }
    if (pk != qsem__parker_self) {
        /* Once the key is gone (exit() or unload is under way) the pipe is
         * not closed at thread exit; it still works until then. */
        if (!atomic_load(&qsem__parker_key_gone) &&
            pthread_setspecific(qsem__parker_key, pk) != 0 &&
            !atomic_load(&qsem__parker_key_gone)) {
            qsem__parker_free(pk);
            return NULL;
        }
        qsem__parker_self = pk;
    }
    return pk;
}

static void qsem__park_atfork_child(int self_queued)
{
    struct qsem__parker *pk = qsem__parker_self;
    struct qsem__parker fresh;

    if (pk == NULL || pk->rfd < 0)
        return;
    if (self_queued && qsem__parker_open(&fresh) == 0) {
        /* The interrupted wait's node names these numbers: keep them, on
         * a pipe of our own.  (dup2() leaves FD_CLOEXEC off: set again.) */
        if (dup2(fresh.rfd, pk->rfd) >= 0 && dup2(fresh.wfd, pk->wfd) >= 0 &&
            qsem__set_flags(pk->rfd) == 0 && qsem__set_flags(pk->wfd) == 0) {
            close(fresh.rfd);
            close(fresh.wfd);
            return;
        }
        close(fresh.rfd);
        close(fresh.wfd);
    }
    /* Made again on this thread's next wait. */
    close(pk->rfd);
    close(pk->wfd);
    pk->rfd = pk->wfd = -1;
}

const char *qsem_backend(void)
{
    return "pthread";
}

static int qsem__park_prepare(struct qsem__node *node)
{
    struct qsem__parker *pk = qsem__parker_get();
    if (pk == NULL)
        return ENOMEM;
    node->wake_fd = pk->wfd;
    node->park_fd = pk->rfd;
    return 0;
}

static int qsem__park(struct qsem__node *node, int64_t deadline_ns, unsigned flags)
{
    int timeout_ms = -1;

    if (deadline_ns != QSEM_FOREVER) {
        int64_t left = deadline_ns - qsem_now_ns();
        if (left <= 0)
            return ETIMEDOUT;
        int64_t ms = (left + 999999) / 1000000;
        timeout_ms = ms > 86400000 ? 86400000 : (int)ms;   /* re-armed after a day */
    }
    struct pollfd pfd = { .fd = node->park_fd, .events = POLLIN };
    int r = poll(&pfd, 1, timeout_ms);
    if (r > 0) {
        char buf[64];
        while (read(node->park_fd, buf, sizeof buf) > 0)
            ;
        return 0;
    }
    if (r < 0) {
        if (errno == EINTR)
            return (flags & QSEM_INTR) ? EINTR : 0;
        if (errno == EAGAIN || errno == ENOMEM)
            return 0;    /* transient: try again */
        qsem__fatal("poll failed", errno);
    }
    return (deadline_ns != QSEM_FOREVER && qsem_now_ns() >= deadline_ns) ? ETIMEDOUT : 0;
}

static void qsem__unpark(_Atomic uint32_t *pending, int wake_fd)
{
    (void)pending;
    /* EAGAIN: the pipe is full, so a wake-up is already there to be read. */
    ssize_t r = write(wake_fd, "", 1);
    (void)r;
}
