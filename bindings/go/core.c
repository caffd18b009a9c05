/*
 * core.c: the qsem core, compiled by cgo as part of this package.
 *
 * The core is one translation unit, csrc/qsem_all.c, included here by a
 * path relative to this file, so `go build` needs no flags and no prebuilt
 * library.  This is also why the package is used from the repository (a
 * `replace` directive or a go.work), not from a module proxy.
 *
 * Below it, the wake-up path of waiting goroutines.  A waiter's notify runs
 * on the releasing thread with the semaphore's lock held, so it must not
 * call into Go: a callback there costs microseconds under the race
 * detector, and every goroutine that meanwhile blocks on the lock in a cgo
 * call takes an OS thread with it (a release to 10,000 waiters made 9,000
 * threads that way).  Instead notify pushes the waiter on one lock-free
 * list and, when the list was empty, writes a byte to a pipe; one
 * goroutine blocked on the pipe in Go's network poller takes the whole
 * list and wakes each waiter's channel.
 *
 * A wait record is shared by its goroutine and, once notified, by that
 * dispatcher goroutine; a reference count says who frees it (and who
 * deletes the Go handle it carries) last.
 */
#include "../../csrc/qsem_all.c"

#include <fcntl.h>
#include <unistd.h>

#include "qsemgo.h"

// waits notified and not yet taken by the dispatcher, newest first
static _Atomic(struct qsemgo_wait *) qsemgo_woken;
// the pipe's write end, set once before any wait starts
static int qsemgo_wake_fd = -1;

static int qsemgo_set_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    fl = fcntl(fd, F_GETFD);
    if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
        return -1;
    return 0;
}

int qsemgo_init(void)
{
    int fds[2];

    if (pipe(fds) < 0)
        return -1;
    if (qsemgo_set_flags(fds[0]) < 0 || qsemgo_set_flags(fds[1]) < 0) {
        int err = errno;
        close(fds[0]);
        close(fds[1]);
        errno = err;
        return -1;
    }
    qsemgo_wake_fd = fds[1];
    return fds[0];
}

/* notify: short, non-blocking, no qsem call and no Go (see above). */
static void qsemgo_notify(void *arg)
{
    struct qsemgo_wait *gw = arg;

    /* Relaxed MO: the dispatcher's reference is dropped only after the
     * list exchange below has handed gw over (acq/rel on qsemgo_woken). */
    __atomic_fetch_add(&gw->refs, 1, __ATOMIC_RELAXED);
    struct qsemgo_wait *head = atomic_load_explicit(&qsemgo_woken, memory_order_relaxed);
    do {
        gw->next = head;
        /* Release MO: the dispatcher's acquire exchange sees gw->next. */
    } while (!atomic_compare_exchange_weak_explicit(&qsemgo_woken, &head, gw,
                                                    memory_order_release,
                                                    memory_order_relaxed));
    if (head == NULL) {
        /* The list was empty, so the dispatcher may be asleep.  The pipe is
         * non-blocking; a full one (EAGAIN) already holds a wake-up. */
        char b = 1;
        ssize_t r = write(qsemgo_wake_fd, &b, 1);
        (void)r;
    }
}

struct qsemgo_wait *qsemgo_take_woken(void)
{
    /* Acquire MO pairs with the release CAS in qsemgo_notify. */
    return atomic_exchange_explicit(&qsemgo_woken, NULL, memory_order_acquire);
}

struct qsemgo_wait *qsemgo_wait_new(qsem_t *s, int64_t n, uintptr_t handle)
{
    struct qsemgo_wait *gw = calloc(1, sizeof *gw);
    if (gw == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    gw->handle = handle;
    gw->refs = 1;
    gw->w = qsem_waiter_new(s, n, qsemgo_notify, gw);
    if (gw->w == NULL) {
        int err = errno;
        free(gw);
        errno = err;
        return NULL;
    }
    return gw;
}

int qsemgo_wait_start(struct qsemgo_wait *gw)
{
    return qsem_waiter_start(gw->w);
}

int qsemgo_wait_unref(struct qsemgo_wait *gw)
{
    /* Acq/rel MO: whoever frees gw sees every use of it by the other. */
    if (__atomic_fetch_sub(&gw->refs, 1, __ATOMIC_ACQ_REL) != 1)
        return 0;
    free(gw);
    return 1;
}

int qsemgo_wait_finish(struct qsemgo_wait *gw, int cancel, int *last)
{
    int r = ECANCELED;

    if (!cancel)
        r = qsem_waiter_claim(gw->w);
    /* Cancels first, giving back unclaimed tokens; once it returns, notify
     * has run or never will. */
    qsem_waiter_free(gw->w);
    gw->w = NULL;
    *last = qsemgo_wait_unref(gw);
    return r;
}
