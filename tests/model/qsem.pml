/*
 * qsem.pml: the wait/wake protocol of csrc/qsem.c as a Promela model, for
 * the spin model checker.  spin explores every interleaving of two or three
 * threads that acquire (try, wait forever, or wait with a timeout or an
 * interruption that may fire at any moment), release, and close, and checks:
 *
 *   no lost wake-up   whenever the system is quiescent (no thread can move),
 *                     the head of the queue does not fit in the free tokens,
 *                     and in the non-strict mode no queued request fits;
 *   conservation      at quiescence, free + held by threads == initial +
 *                     released from outside, and no granted token is left
 *                     unclaimed; no release ever takes free past MAX;
 *   starvation bound  while NOBARGE is up (a waiter has passed the bound),
 *                     and in FIFO mode while anyone queues, only the head of
 *                     the queue ever gets tokens: no newcomer on the fast
 *                     path, the spin or the last try, and no other waiter
 *                     from the dispatcher;
 *   flags             at quiescence WAITERS == (queue not empty) and
 *                     NOBARGE == (starving or closed).
 *
 * Time is abstract: a timed or interruptible wait may end at any point, and
 * the dispatcher may find any prefix of the queue (the oldest waiters) past
 * QSEM_STARVE_NS, growing monotonically, as the clock would make it.
 *
 * Build switches (spin -a -DNAME):
 *   FIFO        the QSEM_FIFO mode
 *   THREE       three acquirers instead of two
 *   CLOSE       the releaser may close the semaphore at any point
 *   BROKEN_TAKE_FIRST     last try takes tokens before raising WAITERS
 *   BROKEN_BARGE          last try ignores qsem__must_queue()
 *   BROKEN_DROP_GRANT     a timed-out waiter ignores a grant that raced it
 *   BROKEN_NO_REDISPATCH  withdraw does not run the dispatcher
 * Each BROKEN_ switch plants one bug; verification must then fail
 * (tests/model/CMakeLists.txt checks that it does).
 *
 * Correspondence with the C code.  Each line below names a model step and
 * the line of csrc/ it stands for, with that line's text; check_anchors.sh
 * (ctest model_anchors) fails when a cited line no longer says what is
 * quoted, so that a change to the C code shows here, and `check_anchors.sh
 * --fix` renumbers lines that only moved.
 *
 * @anchor try_fast      qsem.c:467       uint64_t block = QSEM__NOBARGE | ((s->flags & QSEM_FIFO) ? QSEM__WAITERS : 0);
 * @anchor try_fast      qsem.c:470       if ((old & block) || (int64_t)(old & QSEM__VALUE_MASK) < n)
 * @anchor spin          qsem.c:523       uint64_t block = QSEM__NOBARGE | ((s->flags & QSEM_FIFO) ? QSEM__WAITERS : 0);
 * @anchor spin          qsem.c:532       if ((int64_t)(st & QSEM__VALUE_MASK) >= n && qsem__try_fast(s, n)) {
 * @anchor poll          qsem.c:592       if (qsem__poll(s, n))
 * @anchor poll          qsem.c:554       if (n != 1)
 * @anchor last_try_call qsem.c:605       if (qsem__last_try(s, n)) {
 * @anchor last_try      qsem.c:496       if (qsem__must_queue(s))
 * @anchor last_try      qsem.c:498       atomic_fetch_or_explicit(&s->state, QSEM__WAITERS, memory_order_relaxed);
 * @anchor last_try      qsem.c:499       if (!qsem__take(s, n))
 * @anchor must_queue    qsem.c:365       return s->head != NULL && ((s->flags & QSEM_FIFO) || s->starving);
 * @anchor enqueue       qsem.c:609       qsem__enqueue(s, &node);
 * @anchor park          qsem.c:633       err = qsem__park(&node, deadline_ns, flags);
 * @anchor cancel_check  qsem.c:639       /* Resolved at the same moment: the tokens are ours (CONTRACT:
 * @anchor withdraw      qsem.c:643       qsem__withdraw(s, &node);
 * @anchor withdraw      qsem.c:506      static void qsem__withdraw(qsem_t *s, struct qsem__node *node)
 * @anchor release_cas   qsem.c:715       if (n > max - (int64_t)(old & QSEM__VALUE_MASK))
 * @anchor release_cas   qsem.c:719       if (atomic_compare_exchange_strong_explicit(&s->state, &old, old + (uint64_t)n,
 * @anchor release_slow  qsem.c:724       if (old & QSEM__WAITERS)
 * @anchor dispatch      qsem.c:402       while (node != NULL && (atomic_load_explicit(&s->state, memory_order_relaxed) & QSEM__VALUE_MASK)) {
 * @anchor dispatch      qsem.c:404       if (qsem__take(s, node->n)) {
 * @anchor dispatch      qsem.c:407       } else if (fifo || qsem__head_starving(s, &now)) {
 * @anchor dispatch      qsem.c:415       s->starving = qsem__head_starving(s, &now);
 * @anchor head_starving qsem.c:393       qsem__lazy_now(now) - s->head->queued_at >= QSEM_STARVE_NS;
 * @anchor resolve       qsem.c:79        uint32_t was = atomic_exchange_explicit(pending, 0, memory_order_release);
 * @anchor sync_flags    qsem.c:370       uint64_t want = (s->head ? QSEM__WAITERS : 0) |
 * @anchor close         qsem.c:735       atomic_store_explicit(&s->closed, 1, memory_order_relaxed);
 * @anchor close         qsem.c:739       qsem__resolve(s, node, ECANCELED);
 * @anchor futex_park    qsem_futex.c:65  long r = syscall(SYS_futex, &node->pending, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
 *
 * Each RMW on the state word (a CAS loop or fetch_or in C) is one atomic
 * step here: RMWs on one word are totally ordered, and a CAS loop that
 * retries (after a pause, qsem__backoff) is equivalent to one RMW at its
 * successful attempt.  The futex
 * wait is "block until pending == 0": the kernel compares the word under
 * its own lock, so a wake between the last check and the sleep is not lost.
 * Spurious wake-ups only repeat the loop and are left out.  The core
 * defers the FUTEX_WAKE itself until after the lock is dropped
 * (qsem__unlock), and skips it when the waiter is still awake (lingering
 * in qsem__linger, pending == QSEM__AWAKE); only the swap of `pending` to
 * 0, made under the lock, matters to the protocol, and the model has the
 * waiter leave on that.
 */

#ifdef FIFO
#define FIFO_ 1
#else
#define FIFO_ 0
#endif

#ifdef THREE
#define NW 3
#else
#define NW 2
#endif

#define MAX   3        /* qsem_new(INIT, MAX, ...) */
#define INIT  0
#define FREE  255      /* lock holder: nobody */

#define OK        0
#define ETIMEDOUT 1
#define ECANCELED 2
#define EAGAIN    3

/* The state word: free count and the two flags (qsem_internal.h). */
byte value = INIT;
bool WAITERS, NOBARGE;
/* Under the lock: closed, starving, and the queue (oldest first). */
bool closed, starving;
byte lk = FREE;
byte q[NW];
byte qn;
/* Per queue node (indexed by thread): wanted, pending word, result. */
byte want[NW];
bool pending[NW];
byte result[NW];
/* Ghosts: the oldest `nold` queued waiters have passed the starvation
 * bound; tokens granted but not yet seen by their waiter; tokens held by
 * threads; tokens released from outside. */
byte nold;
byte granted, held, outside;

inline lock(me)   { atomic { lk == FREE -> lk = me } }
inline unlock(me) { assert(lk == me); lk = FREE }

/* Taking tokens as anyone but the head of the queue: the starvation bound. */
inline check_bypass() {
    assert(!NOBARGE);
    assert(!(FIFO_ && qn > 0))
}

inline sync_flags() {
    atomic { WAITERS = (qn > 0); NOBARGE = (starving || closed) }
}

/* Remove queue index j (qsem__dequeue). */
inline remove_at(j) {
    if
    :: j < nold -> nold--
    :: else
    fi;
    k = j;
    do
    :: k + 1 < qn -> q[k] = q[k + 1]; k++
    :: else -> break
    od;
    qn--
}

/* qsem__dispatch, under the lock. */
inline dispatch() {
    /* The clock moves on: more of the oldest waiters may have starved. */
    if
    :: !FIFO_ ->
        do
        :: nold < qn -> nold++
        :: break
        od
    :: else
    fi;
    i = 0;
    do
    :: i < qn && value > 0 ->
        strict = FIFO_ || nold > 0;
        w = q[i];
        /* qsem__take: a CAS loop, so the check and the take are one step. */
        atomic {
            if
            :: value >= want[w] ->
                if
                :: i > 0 -> check_bypass()
                :: else
                fi;
                value = value - want[w];
                granted = granted + want[w];
                took = 1
            :: else -> took = 0
            fi
        };
        if
        :: took ->
            remove_at(i);
            /* qsem__resolve: the result, then pending = 0 (the wake). */
            result[w] = OK;
            pending[w] = 0
        :: else ->
            if
            :: strict -> break
            :: else -> i++
            fi
        fi
    :: else -> break
    od;
    starving = (!FIFO_ && qn > 0 && nold > 0);
    sync_flags()
}

/* qsem_release(n) for n that fits under MAX. */
inline release(me, n) {
    atomic {
        assert(value + n <= MAX);
        wasw = WAITERS;
        value = value + n
    };
    if
    :: wasw -> lock(me); dispatch(); unlock(me)
    :: else
    fi
}

inline close(me) {
    lock(me);
    if
    :: !closed ->
        closed = 1;
        do
        :: qn > 0 ->
            w = q[0];
            remove_at(0);
            result[w] = ECANCELED;
            pending[w] = 0
        :: else -> break
        od;
        starving = 0;
        nold = 0;
        sync_flags()
    :: else
    fi;
    unlock(me)
}

/* One thread: acquires n tokens one way or another, and if it got them,
 * gives them back. */
proctype acquirer(byte me; byte n)
{
    bool got, cancellable, wasw, strict, took;
    byte r, i, k, w;

    /* qsem__enter -> qsem__try_fast: one CAS, blocked by the flags. */
    atomic {
        if
        :: !NOBARGE && !(FIFO_ && WAITERS) && value >= n ->
            check_bypass();
            value = value - n; held = held + n; got = 1
        :: else
        fi
    };
    if
    :: got -> goto done
    :: else
    fi;
    /* Which call it was: try_acquire stops here. */
    if
    :: r = EAGAIN; goto out
    :: cancellable = 0
    :: cancellable = 1
    fi;
    /* qsem__spin, and for a single token qsem__poll: the fast path's rule,
     * tried at later moments; one attempt stands for all of them. */
    atomic {
        if
        :: !NOBARGE && !(FIFO_ && WAITERS) && value >= n ->
            check_bypass();
            value = value - n; held = held + n; got = 1
        :: else
        fi
    };
    if
    :: got -> goto done
    :: else
    fi;

    lock(me);
    if
    :: closed -> r = ECANCELED; unlock(me); goto out
    :: else
    fi;
    /* qsem__last_try. */
#ifndef BROKEN_BARGE
    if
    :: qn > 0 && (FIFO_ || starving) -> goto queue
    :: else
    fi;
#endif
#ifdef BROKEN_TAKE_FIRST
    atomic {
        if
        :: value >= n -> value = value - n; held = held + n; got = 1
        :: else
        fi
    };
    WAITERS = 1;
#else
    WAITERS = 1;   /* fetch_or */
    atomic {
        if
        :: value >= n ->
            check_bypass();
            value = value - n; held = held + n; got = 1
        :: else
        fi
    };
#endif
    if
    :: got -> sync_flags(); unlock(me); goto done
    :: else
    fi;
queue:
    /* qsem__enqueue + qsem__sync_flags, still under the lock. */
    want[me] = n;
    pending[me] = 1;
    q[qn] = me;
    qn++;
    sync_flags();
    unlock(me);

    /* The park loop. */
end_park:
    if
    :: pending[me] == 0 ->
        r = result[me]
    :: cancellable ->
        /* The deadline passed or a signal handler ran (ETIMEDOUT, EINTR). */
        lock(me);
#ifndef BROKEN_DROP_GRANT
        if
        :: pending[me] == 0 -> r = result[me]
        :: else ->
#else
        if
        :: pending[me] == 0 -> r = ETIMEDOUT
        :: else ->
#endif
            /* qsem__withdraw */
            i = 0;
            do
            :: q[i] == me -> break
            :: else -> i++
            od;
            remove_at(i);
            pending[me] = 0;
#ifndef BROKEN_NO_REDISPATCH
            dispatch();
#endif
            r = ETIMEDOUT
        fi;
        unlock(me)
    fi;
    if
    :: r == OK ->
        atomic { granted = granted - n; held = held + n }
        goto done
    :: else -> goto out
    fi;

done:
    /* Give back what was taken. */
    atomic { held = held - n };
    release(me, n);
out:
    skip
}

/* Puts two tokens into the semaphore from outside, one at a time, and may
 * close it. */
proctype releaser(byte me)
{
    bool wasw, strict, took;
    byte i, k, w;

    atomic { outside = outside + 1 };
    release(me, 1);
#ifdef CLOSE
    if
    :: close(me)
    :: skip
    fi;
#endif
    atomic { outside = outside + 1 };
    release(me, 1);
#ifdef CLOSE
    if
    :: close(me)
    :: skip
    fi
#endif
}

/* Runs once nothing else can move: the quiescent-state checks. */
proctype monitor()
{
    byte j;
    timeout ->
    atomic {
        assert(lk == FREE);
        /* Conservation. */
        assert(granted == 0);
        assert(value + held == INIT + outside);
        /* Flags match the queue. */
        assert(WAITERS == (qn > 0));
        assert(NOBARGE == (starving || closed));
        /* No lost wake-up. */
        if
        :: qn > 0 ->
            assert(!closed);
            assert(want[q[0]] > value);
            if
            :: !FIFO_ && !starving ->
                j = 0;
                do
                :: j < qn -> assert(want[q[j]] > value); j++
                :: else -> break
                od
            :: else
            fi
        :: else
        fi
    }
}

init {
    atomic {
        run acquirer(0, 2);
        run acquirer(1, 1);
#ifdef THREE
        run acquirer(2, 1);
#endif
        run releaser(NW);
        run monitor()
    }
}
