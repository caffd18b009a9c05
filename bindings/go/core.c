/*
 * core.c: the qsem core, compiled by cgo as part of this package.
 *
 * The core is one translation unit, csrc/qsem_all.c, included here by a
 * path relative to this file, so `go build` needs no flags and no prebuilt
 * library.  This is also why the package is used from the repository (a
 * `replace` directive or a go.work), not from a module proxy.
 *
 * Below it, the one C function the Go side needs that cgo cannot write:
 * a waiter whose notify calls back into Go.
 */
#include "../../csrc/qsem_all.c"

#include "_cgo_export.h"
#include "qsemgo.h"

/*
 * Runs on the releasing (or closing) thread with the semaphore's lock held:
 * qsemGoNotify only does a non-blocking send on the waiter's channel.
 */
static void qsemgo_notify(void *arg)
{
    qsemGoNotify((uintptr_t)arg);
}

qsem_waiter_t *qsemgo_waiter_new(qsem_t *s, int64_t n, uintptr_t handle)
{
    return qsem_waiter_new(s, n, qsemgo_notify, (void *)handle);
}

int qsemgo_waiter_finish(qsem_waiter_t *w, int cancel)
{
    int r = ECANCELED;

    if (!cancel)
        r = qsem_waiter_claim(w);
    qsem_waiter_free(w);   /* cancels first, giving back unclaimed tokens */
    return r;
}
