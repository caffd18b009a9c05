/* SPDX-License-Identifier: MIT */
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
 *   starvation bound  while NOBARGE is up (a window is open for a waiter
 *                     that has passed the bound), and in FIFO mode while
 *                     anyone queues, only the head of the queue ever gets
 *                     tokens: no newcomer on the fast path, the spin or the
 *                     last try, and no other waiter from the dispatcher;
 *   window watched    at quiescence no window is open while a request
 *                     behind its head would fit (someone always wakes up to
 *                     end a window);
 *   flags             at quiescence WAITERS == (queue not empty) and
 *                     NOBARGE == (window open or closed);
 *   liveness (LIVE)   one token in circulation, a head waiter that wants
 *                     two (it can never be served) and a 1-token client
 *                     that acquires and releases in a loop: once queued,
 *                     the client sees at most one window open before it is
 *                     served (the window it queued behind, or one that
 *                     opens while it is queued), and at quiescence it is
 *                     not queued.
 *
 * Time is abstract: a timed or interruptible wait may end at any point; the
 * dispatcher may find any prefix of the queue (the oldest waiters) past
 * QSEM_STARVE_NS, growing monotonically, an open window's time up (its
 * length, extended while tokens come back for the head, is abstract too),
 * and the barge period that follows an unserved window over, as the clock
 * would make them.  A thread that queued while a window was open, or that the
 * dispatcher woke to watch it, wakes when the window's time is up.
 *
 * Build switches (spin -a -DNAME):
 *   FIFO        the QSEM_FIFO mode
 *   THREE       three acquirers instead of two (searched in FIFO mode only:
 *               with the window the default mode is too large)
 *   CLOSE       the releaser may close the semaphore at any point
 *   LIVE        the liveness scenario above (no releaser)
 *   BROKEN_TAKE_FIRST     last try takes tokens before raising WAITERS
 *   BROKEN_BARGE          last try ignores qsem__must_queue()
 *   BROKEN_DROP_GRANT     a timed-out waiter ignores a grant that raced it
 *   BROKEN_NO_REDISPATCH  withdraw does not run the dispatcher
 *   BROKEN_NO_ALARM       nobody wakes up at a window's end
 *   BROKEN_STRICT_AFTER   the dispatch that ends an expired window still
 *                         serves in strict order
 *   BROKEN_TAKE_CLEARS    the dispatcher's take clears WAITERS whatever
 *                         the queue holds, not only for its only node
 *   BROKEN_RELEASE_ANY    a release that finds waiters serves the head in
 *                         its CAS (clearing WAITERS) whatever the queue holds
 * Each BROKEN_ switch plants one bug; verification must then fail
 * (tests/model/CMakeLists.txt checks that it does).
 *
 * Correspondence with the C code.  Each line below names a model step and
 * the line of csrc/ it stands for, with that line's text; check_anchors.sh
 * (ctest model_anchors) fails when a cited line no longer says what is
 * quoted, so that a change to the C code shows here, and `check_anchors.sh
 * --fix` renumbers lines that only moved.
 *
 * @anchor acquire_fast  qsem.c:737        uint64_t block = QSEM__NOBARGE | ((s->flags & QSEM_FIFO) ? QSEM__WAITERS : 0);
 * @anchor acquire_fast  qsem.c:740        if ((old & block) || (int64_t)(old & QSEM__VALUE_MASK) < n)
 * @anchor spin          qsem.c:800       uint64_t block = QSEM__NOBARGE | ((s->flags & QSEM_FIFO) ? QSEM__WAITERS : 0);
 * @anchor spin          qsem.c:809       if ((int64_t)(st & QSEM__VALUE_MASK) >= n && qsem__acquire_fast(s, n)) {
 * @anchor poll          qsem.c:937       if (qsem__poll(s, n, deadline_ns))
 * @anchor poll          qsem.c:884       if (n != 1)
 * @anchor last_try_call qsem.c:951       if (qsem__last_try(s, n)) {
 * @anchor last_try      qsem.c:768       if (!(s->flags & QSEM_FIFO) && qsem__window_expired(s))
 * @anchor last_try      qsem.c:770       if (qsem__must_queue(s))
 * @anchor last_try      qsem.c:772       atomic_fetch_or_explicit(&s->state, QSEM__WAITERS, memory_order_relaxed);
 * @anchor last_try      qsem.c:773       if (!qsem__take(s, n))
 * @anchor must_queue    qsem.c:506       return s->head != NULL && ((s->flags & QSEM_FIFO) || qsem__window_open(s));
 * @anchor enqueue       qsem.c:955       qsem__enqueue(s, &node);
 * @anchor alarm         qsem.c:975       if (window_end != 0 && window_end < until)
 * @anchor park          qsem.c:977       err = qsem__park(&node, until, flags);
 * @anchor alarm         qsem.c:980       if (err == ETIMEDOUT && until != deadline_ns) {
 * @anchor cancel_check  qsem.c:993       /* Resolved at the same moment: the tokens are ours (docs/contract.md, "Interruption":
 * @anchor withdraw      qsem.c:997       qsem__withdraw(s, &node);
 * @anchor withdraw      qsem.c:780      static void qsem__withdraw(qsem_t *s, struct qsem__node *node)
 * @anchor watch         qsem.c:787       qsem__window_watch(s);
 * @anchor release_cas   qsem.c:1067       return n <= max - (int64_t)(old & QSEM__VALUE_MASK);
 * @anchor release_cas   qsem.c:1130       if (atomic_compare_exchange_strong_explicit(&s->state, &old, old + (uint64_t)n,
 * @anchor release_slow  qsem.c:1136       if (old & QSEM__WAITERS)
 * @anchor release_first qsem.c:1124       return qsem__release_queued(s, n);
 * @anchor release_queued qsem.c:1084      int only = node != NULL && node->next == NULL &&
 * @anchor release_queued qsem.c:1096      serve = only && have + n >= node->n;
 * @anchor release_queued qsem.c:1097      val = serve ? (uint64_t)(have + n - node->n) : old + (uint64_t)n;
 * @anchor release_queued qsem.c:1110      qsem__dispatch(s);
 * @anchor window_check  qsem.c:565       (s->head == s->window_head && s->nthreads > 0 && qsem__lazy_now(now) < end))
 * @anchor dispatch      qsem.c:663       qsem__window_check(s, &now);
 * @anchor dispatch      qsem.c:665       while (node != NULL && (atomic_load_explicit(&s->state, memory_order_relaxed) & QSEM__VALUE_MASK)) {
 * @anchor dispatch      qsem.c:667       if (qsem__take_for(s, node)) {
 * @anchor take_for      qsem.c:650       if (node != s->head || node->next != NULL)
 * @anchor take_for      qsem.c:653       (qsem__window_open(s) && node != s->window_head);
 * @anchor take_for      qsem.c:654       return qsem__take_flagged(s, node->n, nobarge ? QSEM__NOBARGE : 0);
 * @anchor take_for      qsem.c:425       val = (val & QSEM__VALUE_MASK) | flags;
 * @anchor dispatch      qsem.c:668       if (node == s->window_head)
 * @anchor dispatch      qsem.c:672       } else if (fifo || qsem__window_open(s)) {
 * @anchor dispatch      qsem.c:683       qsem__window_try_open(s, &now);
 * @anchor window_open   qsem.c:632       if (t - s->head->queued_at >= QSEM_STARVE_NS && t >= s->barge_until) {
 * @anchor watch         qsem.c:636       qsem__window_watch(s);
 * @anchor watch         qsem.c:589       if (atomic_load(&node->pending) == QSEM__ASLEEP)
 * @anchor resolve       qsem.c:106        uint32_t was = atomic_exchange_explicit(pending, 0, memory_order_release);
 * @anchor sync_flags    qsem.c:511       uint64_t want = (s->head ? QSEM__WAITERS : 0) |
 * @anchor close         qsem.c:1152       atomic_store_explicit(&s->closed, 1, memory_order_relaxed);
 * @anchor close         qsem.c:1156       qsem__resolve(s, node, ECANCELED);
 * @anchor try_acquire   qsem.c:1042       if (!(s->flags & QSEM_FIFO) && qsem__window_expired(s)) {
 * @anchor futex_park    qsem_futex.c:73  long r = syscall(SYS_futex, &node->pending, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
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
#ifdef LIVE
#define INIT  1        /* the one token in circulation */
#define ROUNDS 2       /* the client's acquire/release rounds */
#else
#define INIT  0
#define ROUNDS 1
#endif
#define FREE  255      /* lock holder: nobody */

#define OK        0
#define ETIMEDOUT 1
#define ECANCELED 2
#define EAGAIN    3

/* The state word: free count and the two flags (qsem_internal.h). */
byte value = INIT;
bool WAITERS, NOBARGE;
/* Under the lock: closed, and the queue (oldest first).  The window:
 * open, for whom (a thread index), its time up, and the barge period after
 * an unserved window over (barge_until passed; true at first). */
bool closed;
bool win, expired;
bool gapover = 1;
byte whead;
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
/* A thread the dispatcher woke to watch a window (qsem__window_watch). */
bool watchme[NW];
/* LIVE: windows seen by the client since it last queued. */
byte cwins;

inline lock(me)   { atomic { lk == FREE -> lk = me } }
inline unlock(me) { assert(lk == me); lk = FREE }

/* Taking tokens as anyone but the head of the queue: the starvation bound. */
inline check_bypass() {
    assert(!NOBARGE);
    assert(!(FIFO_ && qn > 0))
}

inline sync_flags() {
    atomic { WAITERS = (qn > 0); NOBARGE = (win || closed) }
}

/* qsem__window_watch: the first queued thread looks at the window. */
inline watch() {
#ifndef BROKEN_NO_ALARM
    if
    :: qn > 0 -> watchme[q[0]] = 1
    :: else
    fi
#else
    skip
#endif
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
    /* The clock moves on: more of the oldest waiters may have starved, an
     * open window's time may be up, the barge period may be over. */
    ended = 0;
    if
    :: !FIFO_ ->
        do
        :: nold < qn -> nold++
        :: break
        od;
        if
        :: win -> expired = 1
        :: !win -> gapover = 1
        :: skip
        fi;
        /* qsem__window_check: its head gone or its time up, a window
         * closes, and barging has its turn.  (So does one with no thread
         * left to watch it; every waiter here is a thread, so that is
         * "its head gone" too.) */
        if
        :: win && (qn == 0 || q[0] != whead || expired) ->
            win = 0; expired = 0; gapover = 0; ended = 1
        :: else
        fi
    :: else
    fi;
    i = 0;
    do
    :: i < qn && value > 0 ->
#ifdef BROKEN_STRICT_AFTER
        strict = FIFO_ || win || ended;
#else
        strict = FIFO_ || win;
#endif
        w = q[i];
        /* qsem__take: a CAS loop, so the check and the take are one step.
         * What the dispatcher then does under the lock before the wake
         * (the window's end, the dequeue) is in the same step: nobody
         * sees the queue or the window without the lock, and a barger that
         * sees the flags a take left finds the node served either way. */
        atomic {
            if
            :: value >= want[w] ->
                /* Past the head: only with no window open (NOBARGE is
                 * brought up to date when the dispatch ends). */
                if
                :: i > 0 -> assert(!win && !FIFO_)
                :: else
                fi;
                value = value - want[w];
                granted = granted + want[w];
                took = 1;
                /* qsem__take_for: serving the only node queued, the same
                 * CAS leaves the flags that the dispatch ends with. */
#ifndef BROKEN_TAKE_CLEARS
                if
                :: qn == 1 ->
#else
                if
                :: true ->
#endif
                    WAITERS = 0;
                    NOBARGE = ((win && w != whead) || closed)
                :: else
                fi;
                /* Served in its window: the window closes; barge_until
                 * has passed (the window opened after it). */
                if
                :: win && w == whead -> win = 0; expired = 0; gapover = 1
                :: else
                fi;
                remove_at(i)
            :: else -> took = 0
            fi
        };
        if
        :: took ->
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
    /* qsem__window_try_open. */
    if
    :: !FIFO_ && !win && qn > 0 && nold > 0 && gapover ->
        win = 1; expired = 0; whead = q[0];
#ifdef LIVE
        k = 0;
        do
        :: k < qn && q[k] == 1 -> cwins++; assert(cwins <= 1); break
        :: k < qn && q[k] != 1 -> k++
        :: else -> break
        od;
#endif
        watch()
    :: else
    fi;
    sync_flags()
}

/* qsem_release(n) for n that fits under MAX: a first look at WAITERS,
 * then qsem__release_queued() under the lock, or the lock-free CAS and,
 * if that found WAITERS, the dispatcher (qsem__release_slow). */
inline release(me, n) {
    wasw = WAITERS;
    if
    :: wasw ->
        lock(me);
        /* qsem__release_queued: the only node queued, with no window
         * open, gets the tokens in the CAS that adds them, which also
         * clears the flags. */
        atomic {
            assert(value + n <= MAX);
            w = q[0];
            if
#ifndef BROKEN_RELEASE_ANY
            :: qn == 1 && !win && !closed && value + n >= want[w] ->
#else
            :: qn >= 1 && !win && !closed && value + n >= want[w] ->
#endif
                value = value + n - want[w];
                granted = granted + want[w];
                WAITERS = 0;
                NOBARGE = 0;
                took = 1;
                remove_at(0)   /* under the lock, as in dispatch() */
            :: else ->
                value = value + n;
                took = 0
            fi
        };
        if
        :: took ->
            result[w] = OK;
            pending[w] = 0
        :: else -> dispatch()
        fi;
        unlock(me)
    :: else ->
        atomic {
            assert(value + n <= MAX);
            wasw = WAITERS;
            value = value + n
        };
        if
        :: wasw -> lock(me); dispatch(); unlock(me)
        :: else
        fi
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
        win = 0;
        expired = 0;
        nold = 0;
        sync_flags()
    :: else
    fi;
    unlock(me)
}

/* One thread: acquires n tokens one way or another, and if it got them,
 * gives them back. */
proctype acquirer(byte me; byte n; byte rounds)
{
    bool got, cancellable, wasw, strict, took, ended, alarm;
    byte r, i, k, w;

again:
    got = 0;
    /* qsem__enter -> qsem__acquire_fast: one CAS, blocked by the flags. */
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
    /* Which call it was: try_acquire ends an expired window, tries once
     * more, and stops. */
    if
    :: !FIFO_ && win ->
        lock(me);
        expired = 1;
        dispatch();
        unlock(me);
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
        :: else -> r = EAGAIN; goto out
        fi
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
    /* qsem__last_try: a window whose time is up ends first. */
    if
    :: !FIFO_ && win -> expired = 1; dispatch()
    :: skip
    fi;
#ifndef BROKEN_BARGE
    if
    :: qn > 0 && (FIFO_ || win) -> goto queue
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
#ifdef LIVE
    if
    :: me == 1 -> cwins = win   /* it queues behind this window */
    :: else
    fi;
#endif
    sync_flags();
    unlock(me);

    /* The park loop.  Before each sleep the thread reads window_end. */
#ifndef BROKEN_NO_ALARM
    alarm = win;
#endif
end_park:
    if
    :: pending[me] == 0 ->
        r = result[me]
    :: pending[me] != 0 && win && (alarm || watchme[me]) ->
        /* Woken at the window's end (or to look at the window, and then
         * at its end): end it if nothing else did, and sleep again. */
        lock(me);
        watchme[me] = 0;
        if
        :: pending[me] != 0 -> expired = 1; dispatch()
        :: else
        fi;
        unlock(me);
#ifndef BROKEN_NO_ALARM
        alarm = win;
#endif
        goto end_park
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
            /* It may have been the thread watching the window. */
            if
            :: !FIFO_ && win -> watch()
            :: else
            fi;
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
    watchme[me] = 0;
    if
    :: rounds > 1 -> rounds--; goto again
    :: else
    fi
}

/* Puts two tokens into the semaphore from outside, one at a time, and may
 * close it. */
proctype releaser(byte me)
{
    bool wasw, strict, took, ended;
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
        assert(NOBARGE == (win || closed));
        /* No lost wake-up; no window left open that holds back a request
         * it does not serve. */
        if
        :: qn > 0 ->
            assert(!closed);
            assert(want[q[0]] > value);
            if
            :: !FIFO_ ->
                j = 1;
                do
                :: j < qn -> assert(want[q[j]] > value); j++
                :: else -> break
                od
            :: else
            fi
        :: else
        fi;
#ifdef LIVE
        /* The client is never left queued. */
        j = 0;
        do
        :: j < qn -> assert(q[j] != 1); j++
        :: else -> break
        od;
#endif
        skip
    }
}

init {
    atomic {
        run acquirer(0, 2, 1);
        run acquirer(1, 1, ROUNDS);
#ifdef THREE
        run acquirer(2, 1, 1);
#endif
#ifndef LIVE
        run releaser(NW);
#endif
        run monitor()
    }
}
