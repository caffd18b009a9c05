/* SPDX-License-Identifier: MIT */
/*
 * qsem_handle.h: the handle table behind every SWIG proxy.
 *
 * A SWIG proxy (a Java object, a Perl blessed scalar, a Tcl command, a Ruby
 * object, a C# object) keeps a C pointer that any of its language's threads
 * may read and pass back into a wrapper at any moment, including while
 * another thread deletes the proxy.  If that pointer were the address of a
 * malloc'd box, a thread that had read it just before the delete would enter
 * the wrapper with freed memory.  So the proxy never holds an address: it
 * holds a handle, an index into a process-wide table plus the generation of
 * the slot it names, and every native call goes through the table.
 *
 * Design
 * ------
 * The table is an array of chunks of slots.  Chunks are allocated on demand
 * and never freed, so the memory of a slot stays valid for the life of the
 * process whatever a handle says; freed slots go on a free list and are
 * reused under a new generation.  A slot's state is one 64-bit word:
 *
 *     bits 63..32   generation (1..2^32-1 on 64-bit hosts; never 0)
 *     bit  31       LIVE: the slot holds a semaphore handle that owners use
 *     bits 30..0    pins: native calls in flight on the slot
 *
 * and a handle (never 0: the index part starts at 1) is
 *
 *     generation << QSEM_HANDLE_INDEX_BITS | (index + 1).
 *
 * Invariants:
 *   - A slot's `s` and `owners` are written only while the slot is not LIVE
 *     and has no pins (by the thread that allocates it, or by the one that
 *     retires it), and are read only under a pin taken on a LIVE state.
 *   - A pin can be taken only on a LIVE slot whose generation matches the
 *     handle: a stale, forged or zero handle, or one that names a slot out
 *     of range, fails with EBADF before anything reads the slot's fields.
 *   - Clearing LIVE happens once per generation (delete by the last owner);
 *     the slot's qsem handle is dropped at that moment (qsem_unref), so the
 *     last handle still closes the semaphore and wakes its waiters with
 *     ECANCELED.  The memory stays valid through a qsem_pin() taken just
 *     before the unref.
 *   - Whoever brings the pin count of a dead slot to zero retires it: it
 *     drops that qsem_pin(), bumps the generation and frees the slot.  Only
 *     one thread can see that transition, since pins cannot rise again on a
 *     dead slot.
 *
 * Who may touch a slot after delete: any thread that had pinned it before
 * LIVE was cleared, until it unpins; nobody else (their pins fail).  The
 * slot's memory itself is never returned to the system.
 *
 * The generation is 32 bits wide: a stale handle could name a live slot
 * again only if that very slot were reused 2^32 times while the stale handle
 * was kept.  On hosts with 32-bit pointers the handle keeps 20 bits of index
 * and 12 of generation, which makes that 4096 reuses.
 *
 * Owners: a proxy owns its slot.  Where Perl's ithreads copy a proxy into
 * each new thread (objects not shared with threads::shared), several
 * proxies share one slot; qsem_handle_share() adds owners, and only the
 * delete of the last owner kills the slot.  A delete by the same owner
 * twice is the front end's bug to avoid (Perl's magic deletes once per
 * copy); a delete of a dead or stale handle is a no-op.
 *
 * The allocator (new slot, chunk growth, free list) takes a mutex: it runs
 * once per constructor and once per retired slot, never on the call path.
 * Pin and unpin are lock-free.
 */
#ifndef QSEM_HANDLE_H
#define QSEM_HANDLE_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "qsem.h"

#if UINTPTR_MAX > 0xffffffffu
#  define QSEM_HANDLE_INDEX_BITS 32
#  define QSEM_HANDLE_GEN_BITS 32
#else
#  define QSEM_HANDLE_INDEX_BITS 20
#  define QSEM_HANDLE_GEN_BITS 12
#endif

#define QSEM_HANDLE_CHUNK_BITS 10
#define QSEM_HANDLE_CHUNK (1u << QSEM_HANDLE_CHUNK_BITS)
#define QSEM_HANDLE_CHUNKS 4096u  /* 4M slots: live proxies, not calls */
#define QSEM_HANDLE_SLOTS (QSEM_HANDLE_CHUNK * QSEM_HANDLE_CHUNKS)

#define QSEM_HANDLE_LIVE (UINT64_C(1) << 31)
#define QSEM_HANDLE_PINS (QSEM_HANDLE_LIVE - 1)
#define QSEM_HANDLE_GEN_SHIFT 32
#define QSEM_HANDLE_GEN_MASK ((UINT64_C(1) << QSEM_HANDLE_GEN_BITS) - 1)

_Static_assert(QSEM_HANDLE_SLOTS < (UINT64_C(1) << QSEM_HANDLE_INDEX_BITS),
               "a slot index + 1 must fit in the handle's index bits");

typedef struct qsem_handle_slot {
    _Atomic uint64_t state;
    qsem_t *s;              /* the slot's own handle (then its pin) on the semaphore */
    atomic_long owners;     /* proxies sharing the slot (Perl threads); 1 elsewhere */
    uint32_t index1;        /* this slot's index + 1, fixed when its chunk is made */
    uint32_t next_free;     /* index + 1 of the next free slot; 0 ends the list */
} qsem_handle_slot;

static struct {
    pthread_mutex_t lock;           /* the allocator: free list and growth */
    uint32_t free_head;             /* index + 1 of the first free slot; 0 if none */
    uint32_t used;                  /* slots ever handed out (the rest are fresh) */
    _Atomic(qsem_handle_slot *) chunks[QSEM_HANDLE_CHUNKS];
} qsem_handle_table = { .lock = PTHREAD_MUTEX_INITIALIZER };

static inline uint64_t qsem_handle__gen(uint64_t state)
{
    return (state >> QSEM_HANDLE_GEN_SHIFT) & QSEM_HANDLE_GEN_MASK;
}

/* The slot a handle names, or NULL if it names none (0, out of range, a
 * chunk never allocated).  Says nothing about liveness: qsem_handle_pin
 * decides that. */
static inline qsem_handle_slot *qsem_handle__slot(uint64_t h, uint64_t *gen)
{
    uint64_t idx = h & ((UINT64_C(1) << QSEM_HANDLE_INDEX_BITS) - 1);
    qsem_handle_slot *chunk;

    *gen = h >> QSEM_HANDLE_INDEX_BITS;
    if (idx == 0 || idx > QSEM_HANDLE_SLOTS || *gen == 0 || *gen > QSEM_HANDLE_GEN_MASK) {
        return NULL;
    }
    idx--;
    /* Acquire pairs with the release store that published the chunk, so
     * its zeroed slots are seen as such. */
    chunk = atomic_load_explicit(&qsem_handle_table.chunks[idx >> QSEM_HANDLE_CHUNK_BITS],
                                 memory_order_acquire);
    return chunk == NULL ? NULL : &chunk[idx & (QSEM_HANDLE_CHUNK - 1)];
}

/* A free slot, not LIVE and without pins, or NULL with ENOMEM.  Its index
 * + 1 goes to *idx1. */
static inline qsem_handle_slot *qsem_handle__alloc(uint32_t *idx1)
{
    qsem_handle_slot *slot = NULL;

    pthread_mutex_lock(&qsem_handle_table.lock);
    if (qsem_handle_table.free_head != 0) {
        uint32_t idx = qsem_handle_table.free_head - 1;
        qsem_handle_slot *chunk = atomic_load_explicit(
            &qsem_handle_table.chunks[idx >> QSEM_HANDLE_CHUNK_BITS], memory_order_relaxed);
        slot = &chunk[idx & (QSEM_HANDLE_CHUNK - 1)];
        *idx1 = idx + 1;
        qsem_handle_table.free_head = slot->next_free;
    } else if (qsem_handle_table.used < QSEM_HANDLE_SLOTS) {
        uint32_t idx = qsem_handle_table.used;
        uint32_t c = idx >> QSEM_HANDLE_CHUNK_BITS;
        qsem_handle_slot *chunk =
            atomic_load_explicit(&qsem_handle_table.chunks[c], memory_order_relaxed);
        if (chunk == NULL) {
            chunk = calloc(QSEM_HANDLE_CHUNK, sizeof *chunk);
            if (chunk != NULL) {
                for (uint32_t i = 0; i < QSEM_HANDLE_CHUNK; i++) {
                    atomic_init(&chunk[i].state, (uint64_t)1 << QSEM_HANDLE_GEN_SHIFT);
                    atomic_init(&chunk[i].owners, 0);
                    chunk[i].index1 = (c << QSEM_HANDLE_CHUNK_BITS) + i + 1;
                }
                /* Release: a reader that finds the chunk sees it initialised. */
                atomic_store_explicit(&qsem_handle_table.chunks[c], chunk, memory_order_release);
            }
        }
        if (chunk != NULL) {
            qsem_handle_table.used++;
            *idx1 = idx + 1;
            slot = &chunk[idx & (QSEM_HANDLE_CHUNK - 1)];
        }
    }
    pthread_mutex_unlock(&qsem_handle_table.lock);
    if (slot == NULL) {
        errno = ENOMEM;
    }
    return slot;
}

/* Put a retired slot (generation already bumped) back on the free list. */
static inline void qsem_handle__free(qsem_handle_slot *slot)
{
    pthread_mutex_lock(&qsem_handle_table.lock);
    slot->next_free = qsem_handle_table.free_head;
    qsem_handle_table.free_head = slot->index1;
    pthread_mutex_unlock(&qsem_handle_table.lock);
}

/*
 * Wrap a semaphore handle `s` (which the table then owns) in a new slot with
 * one owner.  Returns the proxy's handle, or 0 with errno set (s is then
 * dropped): EINVAL-style errors come from qsem_new() through s == NULL.
 */
static inline uint64_t qsem_handle_new(qsem_t *s)
{
    uint32_t idx1;
    qsem_handle_slot *slot;
    uint64_t state;

    if (s == NULL) {
        return 0;
    }
    slot = qsem_handle__alloc(&idx1);
    if (slot == NULL) {
        qsem_unref(s);
        errno = ENOMEM;
        return 0;
    }
    /* Not LIVE and no pins: nobody else reads these fields now. */
    slot->s = s;
    atomic_store_explicit(&slot->owners, 1, memory_order_relaxed);
    state = atomic_load_explicit(&slot->state, memory_order_relaxed);
    /* Release: a pin that sees LIVE (acquire) sees s and owners. */
    atomic_store_explicit(&slot->state, state | QSEM_HANDLE_LIVE, memory_order_release);
    return (qsem_handle__gen(state) << QSEM_HANDLE_INDEX_BITS) | idx1;
}

/*
 * Pin the slot named by h for the length of one native call.  Returns the
 * semaphore, valid until qsem_handle_unpin(*slotp), or NULL with EBADF for
 * a dead, stale, zero or forged handle (and then no pin is held).
 */
static inline qsem_t *qsem_handle_pin(uint64_t h, qsem_handle_slot **slotp)
{
    uint64_t gen;
    qsem_handle_slot *slot = qsem_handle__slot(h, &gen);
    uint64_t state;

    if (slot == NULL) {
        return NULL;
    }
    state = atomic_load_explicit(&slot->state, memory_order_relaxed);
    do {
        if (qsem_handle__gen(state) != gen || !(state & QSEM_HANDLE_LIVE)
            || (state & QSEM_HANDLE_PINS) == QSEM_HANDLE_PINS) {
            return NULL;
        }
        /* Acquire on success pairs with the release that made the slot
         * LIVE, so s and owners are this generation's.  A failed CAS only
         * reloads: relaxed. */
    } while (!atomic_compare_exchange_weak_explicit(&slot->state, &state, state + 1,
                                                    memory_order_acquire,
                                                    memory_order_relaxed));
    *slotp = slot;
    return slot->s;
}

/* End a call: drop the pin.  The last pin off a dead slot retires it. */
static inline void qsem_handle_unpin(qsem_handle_slot *slot)
{
    /* Release: this call's reads of slot->s happen before the retirement;
     * acquire: the retiring thread sees every other caller's and the
     * deleter's writes.  (Acq_rel on every decrement, not a fence on the
     * last one, because ThreadSanitizer does not model fences.) */
    uint64_t old = atomic_fetch_sub_explicit(&slot->state, 1, memory_order_acq_rel);
    qsem_t *s;

    if ((old & (QSEM_HANDLE_LIVE | QSEM_HANDLE_PINS)) != 1) {
        return;  /* still LIVE, or other calls still in flight */
    }
    /* Dead and unpinned: no pin can succeed any more, so the fields are ours. */
    s = slot->s;
    slot->s = NULL;
    {
        uint64_t gen = qsem_handle__gen(old) + 1;
        if (gen > QSEM_HANDLE_GEN_MASK) {
            gen = 1;  /* 0 never appears in a handle */
        }
        /* Relaxed: the slot is not LIVE, so no pin reads its fields before
         * qsem_handle_new publishes them again with release under the
         * allocator's mutex, which orders this store before that reuse. */
        atomic_store_explicit(&slot->state, gen << QSEM_HANDLE_GEN_SHIFT, memory_order_relaxed);
    }
    qsem_handle__free(slot);
    qsem_unpin(s);
}

/*
 * Drop one owner of h.  The last owner's delete kills the slot: later pins
 * fail with EBADF, the slot's semaphore handle is dropped now (closing the
 * semaphore if it was the last), and calls already in flight finish on
 * valid memory.  A dead, stale, zero or forged handle: nothing happens.
 */
static inline void qsem_handle_delete(uint64_t h)
{
    qsem_handle_slot *slot;
    qsem_t *s = qsem_handle_pin(h, &slot);

    if (s == NULL) {
        return;
    }
    /* Acq_rel: the last owner must see every use by the others. */
    if (atomic_fetch_sub_explicit(&slot->owners, 1, memory_order_acq_rel) == 1) {
        /* Clear LIVE: the generation cannot change while our pin is held,
         * and only one deleter gets here per generation (owners reached 0
         * once), so a relaxed fetch_and suffices; the unpin below orders it. */
        atomic_fetch_and_explicit(&slot->state, ~QSEM_HANDLE_LIVE, memory_order_relaxed);
        qsem_pin(s);    /* the memory outlives the handle ... */
        qsem_unref(s);  /* ... which closes the semaphore if it was the last */
    }
    qsem_handle_unpin(slot);
}

/* `count` more proxies now own h's slot (Perl: a new thread's copies).
 * 0, or EBADF if h is dead. */
static inline int qsem_handle_share(uint64_t h, long count)
{
    qsem_handle_slot *slot;

    if (qsem_handle_pin(h, &slot) == NULL) {
        return EBADF;
    }
    atomic_fetch_add_explicit(&slot->owners, count, memory_order_relaxed);
    qsem_handle_unpin(slot);
    return 0;
}

#endif /* QSEM_HANDLE_H */
