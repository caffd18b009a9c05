/* SPDX-License-Identifier: MIT */
/*
 * The object's layout by cache line (csrc/qsem_internal.h): every semaphore
 * is 64-byte aligned whatever the allocator returns, its state word is alone
 * on its line, and the fields that the slow paths write (counts, the lock
 * and queue) are on other lines.  An allocator that returns blocks 16 bytes
 * past a line boundary, as calloc() may, checks that the alignment is done
 * by hand and that the block freed is the one allocated: a wrong pointer
 * would make free() abort (and ASan report it).
 */
#include <stddef.h>
#include <stdatomic.h>

#include "qsem_internal.h"
#include "qsem_test.h"

#define SKEW 16

static atomic_long live;

/* Blocks whose address is SKEW bytes past a multiple of QSEM__LINE. */
static void *
skewed_calloc(size_t n, size_t size)
{
    size_t bytes = n * size;
    char *raw = calloc(1, bytes + 2 * QSEM__LINE);
    if (raw == NULL)
        return NULL;
    char *p = (char *)(((uintptr_t)raw + QSEM__LINE - 1) & ~(uintptr_t)(QSEM__LINE - 1)) + SKEW;
    ((void **)p)[-1] = raw;   /* SKEW >= sizeof(void *) */
    atomic_fetch_add(&live, 1);
    return p;
}

static void
skewed_free(void *p)
{
    if (p == NULL)
        return;
    ASSERT_EQ((uintptr_t)p % QSEM__LINE, SKEW);
    atomic_fetch_sub(&live, 1);
    free(((void **)p)[-1]);
}

static int
same_line(size_t a, size_t b)
{
    return a / QSEM__LINE == b / QSEM__LINE;
}

int
main(void)
{
    test_watchdog(30);

    /* The state word has a line to itself. */
    size_t st = offsetof(struct qsem, state);
    ASSERT_EQ(st % QSEM__LINE, 0);
    ASSERT_TRUE(!same_line(st, offsetof(struct qsem, max)));
    ASSERT_TRUE(!same_line(st, offsetof(struct qsem, closed)));
    ASSERT_TRUE(!same_line(st, offsetof(struct qsem, pins)));
    ASSERT_TRUE(!same_line(st, offsetof(struct qsem, handles)));
    ASSERT_TRUE(!same_line(st, offsetof(struct qsem, nwaiting)));
    ASSERT_TRUE(!same_line(st, offsetof(struct qsem, spin)));
    ASSERT_TRUE(!same_line(st, offsetof(struct qsem, lock)));
    ASSERT_TRUE(!same_line(st, offsetof(struct qsem, head)));
    /* The fast paths' read-only fields share a line that nothing writes
     * after creation except close, once. */
    ASSERT_TRUE(same_line(offsetof(struct qsem, max), offsetof(struct qsem, flags)));
    ASSERT_TRUE(!same_line(offsetof(struct qsem, max), offsetof(struct qsem, pins)));

    /* Aligned, from calloc() and from an allocator that is not. */
    for (int skewed = 0; skewed < 2; skewed++) {
        if (skewed)
            qsem__set_allocator(skewed_calloc, skewed_free);
        qsem_t *sems[32];
        for (int i = 0; i < 32; i++) {
            sems[i] = test_new(i, 100, i % 2 ? QSEM_FIFO : 0);
            ASSERT_EQ((uintptr_t)sems[i] % QSEM__LINE, 0);
            ASSERT_EQ((uintptr_t)&sems[i]->state % QSEM__LINE, 0);
        }
        for (int i = 0; i < 32; i++) {
            /* Usable, and freed through the allocator that made it. */
            ASSERT_EQ(qsem_available(sems[i]), i);
            ASSERT_OK(qsem_release(sems[i], 1));
            ASSERT_OK(qsem_acquire(sems[i], i + 1));
            ASSERT_EQ(qsem_available(sems[i]), 0);
            qsem_unref(sems[i]);
        }
        if (skewed)
            ASSERT_EQ(atomic_load(&live), 0);
        qsem__set_allocator(NULL, NULL);
    }
    puts("test_layout: ok");
    return 0;
}
