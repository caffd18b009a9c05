/* qsemgo.h: the C helpers of the Go package (core.c). */
#ifndef QSEMGO_H
#define QSEMGO_H

#include <stdint.h>

#include "../../csrc/qsem.h"

/* A waiter for n tokens on s whose notify wakes the Go channel behind the
 * runtime/cgo handle `handle`.  NULL with errno set, as qsem_waiter_new(). */
qsem_waiter_t *qsemgo_waiter_new(qsem_t *s, int64_t n, uintptr_t handle);

/* End a started waiter and free it: with cancel, leave the queue and give
 * back any tokens granted meanwhile (returns ECANCELED); else claim the
 * grant (0, or ECANCELED if the semaphore was closed).  Once it returns,
 * notify has finished. */
int qsemgo_waiter_finish(qsem_waiter_t *w, int cancel);

#endif /* QSEMGO_H */
