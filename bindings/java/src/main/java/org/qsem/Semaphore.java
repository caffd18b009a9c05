// SPDX-License-Identifier: MIT
package org.qsem;

import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A counting semaphore with the methods and semantics of
 * {@link java.util.concurrent.Semaphore}, on qsem's native core.
 *
 * <p>Code written for {@code java.util.concurrent.Semaphore} compiles and
 * behaves the same with only the import changed, with these differences:
 * the initial count may not be negative; a fair semaphore's untimed
 * {@code tryAcquire} fails while threads are queued instead of overtaking
 * them; the count never passes
 * {@link #maxPermits()} (by default {@link #VALUE_MAX}, about 4.6e18), and a
 * release that would pass it throws {@link ArithmeticException} and changes
 * nothing; in the default (non-fair) mode a waiter may be overtaken, but not
 * starved; the protected {@code reducePermits} and {@code getQueuedThreads}
 * are not offered, and the class is not {@code Serializable}.
 *
 * <p>qsem's own: {@link #close()} wakes every waiter with a
 * {@link ClosedException} and makes later acquires throw it (releases still
 * work); a bound; {@code long} permit counts ({@link #acquire(long)},
 * {@link #available()}, ...). The native memory is freed when the object is
 * collected, or at once by {@link #delete()}, after which every method
 * throws {@link IllegalStateException}, from whatever thread, however it
 * races with the delete.
 *
 * <p>Timeouts follow java.util.concurrent in every unit: zero or less tries
 * once, a timeout too large for a {@code long} of nanoseconds waits forever.
 * Waits that throw {@link InterruptedException} end when the thread is
 * interrupted, and on entry if it already is, taking no permit.
 */
public class Semaphore {
    /** The largest count and bound a semaphore can have: 2^62 - 1. */
    public static final long VALUE_MAX = qsem.VALUE_MAX;

    /** The version of the native library, as "major.minor.patch". */
    public static final String VERSION = qsem.VERSION;

    private static final Cleaner CLEANER = Cleaner.create();

    private final NativeSemaphore handle;
    private final Cleaner.Cleanable cleanable;
    private final boolean fair;

    /**
     * A non-fair semaphore.
     *
     * @param permits the permits available at first
     * @throws IllegalArgumentException if {@code permits} is negative
     */
    public Semaphore(int permits) {
        this(permits, VALUE_MAX, false);
    }

    /**
     * A semaphore, fair or not.
     *
     * @param permits the permits available at first
     * @param fair whether waiting threads are served in arrival order
     * @throws IllegalArgumentException if {@code permits} is negative
     */
    public Semaphore(int permits, boolean fair) {
        this(permits, VALUE_MAX, fair);
    }

    /**
     * A bounded semaphore.
     *
     * @param permits the permits available at first
     * @param maxPermits the most permits it may ever hold; {@link #VALUE_MAX} for no bound
     * @param fair whether waiting threads are served in arrival order
     * @throws IllegalArgumentException unless 0 &lt;= permits &lt;= maxPermits &lt;= VALUE_MAX
     */
    public Semaphore(long permits, long maxPermits, boolean fair) {
        NativeSemaphore h = new NativeSemaphore(permits, maxPermits, fair);
        this.handle = h;
        this.fair = fair;
        // The action holds the proxy, never this object.
        this.cleanable = CLEANER.register(this, h::delete);
    }

    /**
     * Takes a permit, waiting until one is free.
     *
     * @throws InterruptedException if the thread is interrupted (no permit taken)
     * @throws ClosedException if the semaphore is or becomes closed
     */
    public void acquire() throws InterruptedException {
        acquire(1L);
    }

    /**
     * Takes {@code permits} permits at once, waiting until they are free.
     *
     * @param permits how many; 0 returns at once
     * @throws InterruptedException if the thread is interrupted (no permit taken)
     * @throws IllegalArgumentException if {@code permits} is negative or more than {@link #maxPermits()}
     * @throws ClosedException if the semaphore is or becomes closed
     */
    public void acquire(int permits) throws InterruptedException {
        acquire((long) permits);
    }

    /**
     * As {@link #acquire(int)}, with a {@code long} count.
     *
     * @param permits how many; 0 returns at once
     * @throws InterruptedException if the thread is interrupted (no permit taken)
     */
    public void acquire(long permits) throws InterruptedException {
        checkPermits(permits);
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        await(permits, -1, true);
    }

    /**
     * Takes a permit, waiting through interrupts; a thread interrupted
     * meanwhile returns with its interrupt status set.
     *
     * @throws ClosedException if the semaphore is or becomes closed
     */
    public void acquireUninterruptibly() {
        acquireUninterruptibly(1L);
    }

    /**
     * As {@link #acquireUninterruptibly()}, for {@code permits} permits at once.
     *
     * @param permits how many; 0 returns at once
     * @throws IllegalArgumentException if {@code permits} is negative or more than {@link #maxPermits()}
     */
    public void acquireUninterruptibly(int permits) {
        acquireUninterruptibly((long) permits);
    }

    /**
     * As {@link #acquireUninterruptibly(int)}, with a {@code long} count.
     *
     * @param permits how many; 0 returns at once
     */
    public void acquireUninterruptibly(long permits) {
        checkPermits(permits);
        try {
            await(permits, -1, false);
        } catch (InterruptedException e) {
            throw new AssertionError(e);   // not thrown when not interruptible
        }
    }

    /**
     * Takes a permit if one is free now; never waits. Unlike
     * java.util.concurrent, a fair semaphore does not let this call overtake
     * queued threads: it returns false while any thread is queued.
     *
     * @return whether a permit was taken
     * @throws ClosedException if the semaphore is closed
     */
    public boolean tryAcquire() {
        return tryAcquire(1L);
    }

    /**
     * As {@link #tryAcquire()}, for {@code permits} permits at once.
     *
     * @param permits how many
     * @return whether they were taken (all, or none)
     * @throws IllegalArgumentException if {@code permits} is negative or more than {@link #maxPermits()}
     */
    public boolean tryAcquire(int permits) {
        return tryAcquire((long) permits);
    }

    /**
     * As {@link #tryAcquire(int)}, with a {@code long} count.
     *
     * @param permits how many
     * @return whether they were taken
     */
    public boolean tryAcquire(long permits) {
        checkPermits(permits);
        try {
            return handle.tryNow(permits);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Takes a permit, waiting at most {@code timeout}.
     *
     * @param timeout the longest wait; zero or less tries once without waiting
     * @param unit the unit of {@code timeout}
     * @return whether a permit was taken (false: timed out)
     * @throws InterruptedException if the thread is interrupted (no permit taken)
     * @throws ClosedException if the semaphore is or becomes closed
     */
    public boolean tryAcquire(long timeout, TimeUnit unit) throws InterruptedException {
        return tryAcquire(1L, timeout, unit);
    }

    /**
     * Takes {@code permits} permits at once, waiting at most {@code timeout}.
     *
     * @param permits how many
     * @param timeout the longest wait; zero or less tries once without waiting
     * @param unit the unit of {@code timeout}
     * @return whether they were taken (false: timed out, none taken)
     * @throws InterruptedException if the thread is interrupted (no permit taken)
     * @throws IllegalArgumentException if {@code permits} is negative or more than {@link #maxPermits()}
     * @throws ClosedException if the semaphore is or becomes closed
     */
    public boolean tryAcquire(int permits, long timeout, TimeUnit unit) throws InterruptedException {
        return tryAcquire((long) permits, timeout, unit);
    }

    /**
     * As {@link #tryAcquire(int, long, TimeUnit)}, with a {@code long} count.
     *
     * @param permits how many
     * @param timeout the longest wait; zero or less tries once without waiting
     * @param unit the unit of {@code timeout}
     * @return whether they were taken
     * @throws InterruptedException if the thread is interrupted (no permit taken)
     */
    public boolean tryAcquire(long permits, long timeout, TimeUnit unit) throws InterruptedException {
        checkPermits(permits);
        long ns = timeoutNanos(timeout, unit);
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        return await(permits, ns, true);
    }

    /**
     * Gives back one permit.
     *
     * @throws ArithmeticException if the count would pass {@link #maxPermits()} (nothing changes)
     */
    public void release() {
        release(1L);
    }

    /**
     * Gives back {@code permits} permits, which need not have been acquired
     * (as java.util.concurrent), up to the bound.
     *
     * @param permits how many
     * @throws IllegalArgumentException if {@code permits} is negative
     * @throws ArithmeticException if the count would pass {@link #maxPermits()} (nothing changes)
     */
    public void release(int permits) {
        release((long) permits);
    }

    /**
     * As {@link #release(int)}, with a {@code long} count.
     *
     * @param permits how many
     */
    public void release(long permits) {
        checkPermits(permits);
        try {
            handle.releaseWaking(permits);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * The permits free now.
     *
     * @return the count, at most Integer.MAX_VALUE ({@link #available()} gives it in full)
     */
    public int availablePermits() {
        return saturate(available());
    }

    /**
     * The permits free now.
     *
     * @return the count (a snapshot)
     */
    public long available() {
        try {
            return handle.available();
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Takes every permit that a newcomer could take now and returns how
     * many (at most Integer.MAX_VALUE; {@link #drain()} gives the full
     * count). In fair mode, permits held back for queued threads stay.
     *
     * @return the permits taken
     * @throws ClosedException if the semaphore is closed and had permits
     */
    public int drainPermits() {
        long n = drain();
        if (n > Integer.MAX_VALUE) {
            // Keep what int cannot report, so nothing is lost.
            release(n - Integer.MAX_VALUE);
            return Integer.MAX_VALUE;
        }
        return (int) n;
    }

    /**
     * As {@link #drainPermits()}, with a {@code long} count.
     *
     * @return the permits taken
     */
    public long drain() {
        try {
            return handle.drain();
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * The threads waiting now.
     *
     * @return an estimate, as java.util.concurrent: the queue may change at any moment
     */
    public final int getQueueLength() {
        try {
            return saturate(handle.waiting());
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Whether any thread is waiting now.
     *
     * @return true if at least one thread is queued (a snapshot)
     */
    public final boolean hasQueuedThreads() {
        try {
            return handle.waiting() > 0;
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Whether permits are granted in arrival order.
     *
     * @return the {@code fair} given at construction
     */
    public boolean isFair() {
        return fair;
    }

    /**
     * The bound given at construction.
     *
     * @return the most permits this semaphore may hold ({@link #VALUE_MAX} if none was given)
     */
    public long maxPermits() {
        try {
            return handle.max();
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Closes the semaphore: every waiting thread gets a {@link ClosedException},
     * later acquires throw it at once, releases keep working. Idempotent;
     * the native memory stays until {@link #delete()} or collection.
     */
    public void close() {
        try {
            handle.closeWaking();
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Whether the semaphore is closed.
     *
     * @return true once {@link #close()} has run
     */
    public boolean isClosed() {
        try {
            return handle.isClosed();
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Frees this object's native handle now instead of at collection, closing
     * the semaphore. Idempotent, and safe while other threads are calling
     * methods on it: they finish or throw {@link IllegalStateException}.
     */
    public void delete() {
        cleanable.clean();
    }

    /**
     * As java.util.concurrent: the identity string and the permits free.
     *
     * @return for example {@code "org.qsem.Semaphore@1b6d3586[Permits = 2]"}
     */
    @Override
    public String toString() {
        return super.toString() + "[Permits = " + available() + "]";
    }

    private static void checkPermits(long permits) {
        if (permits < 0) {
            throw new IllegalArgumentException("qsem: permits must not be negative: " + permits);
        }
    }

    private static int saturate(long n) {
        return n > Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) n;
    }

    /**
     * Java's timeout rule, for every unit, in one place: zero or less tries
     * once; TimeUnit saturates a timeout too large for nanoseconds at
     * Long.MAX_VALUE, which is forever (as near as makes no difference:
     * 292 years), mapped to the core's "forever" (-1). A null unit throws
     * NullPointerException whatever the timeout, as java.util.concurrent's.
     */
    private static long timeoutNanos(long timeout, TimeUnit unit) {
        long ns = unit.toNanos(timeout);
        if (ns <= 0) {
            return 0;
        }
        return ns == Long.MAX_VALUE ? -1 : ns;
    }

    /*
     * Every method that reaches the native handle ends with a
     * reachabilityFence: otherwise the JIT may find `this` unreachable once
     * `handle` is loaded, and the Cleaner could delete the handle under a
     * call that is still on its way in.
     */

    /**
     * Takes {@code permits} within {@code timeoutNs} (-1: forever, 0: now
     * only). The uncontended path is the one native call to waitStart;
     * otherwise the thread parks until the core grants or closes (its notify
     * unparks the thread), the deadline passes, or, if {@code interruptible},
     * the thread is interrupted. Whatever ends the wait, waitFree takes the
     * thread out of the queue and gives back permits granted but not claimed.
     */
    private boolean await(long permits, long timeoutNs, boolean interruptible) throws InterruptedException {
        long wait;
        try {
            wait = handle.waitStart(Thread.currentThread(), permits, timeoutNs);
        } finally {
            Reference.reachabilityFence(this);
        }
        if (wait == 0) {
            return true;
        } else if (wait < 0) {
            return false;
        }
        boolean interrupted = false;
        try {
            for (;;) {
                long park = qsem.waitParkNanos(wait);
                if (park < 0) {
                    return qsem.waitClaim(wait);
                } else if (park == 0) {
                    return false;
                }
                if (Thread.interrupted()) {
                    if (interruptible) {
                        throw new InterruptedException();
                    }
                    interrupted = true;
                }
                if (park == Long.MAX_VALUE) {
                    LockSupport.park(this);
                } else {
                    LockSupport.parkNanos(this, park);
                }
            }
        } finally {
            qsem.waitFree(wait);
            Reference.reachabilityFence(this);
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
