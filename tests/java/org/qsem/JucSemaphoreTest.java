// SPDX-License-Identifier: MIT
package org.qsem;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.Test;

import org.qsem.Semaphore;

/**
 * The documented behaviour of java.util.concurrent.Semaphore, written
 * against its API alone.  This file runs twice: as it is, against
 * org.qsem.Semaphore (Surefire, ctest `java`), and with only the import
 * above turned into java.util.concurrent.Semaphore (and the package into
 * org.qsem.reference), against the JDK's own class (ctest
 * `java_reference`), which shows the tests describe java.util.concurrent
 * and not just qsem.  Where qsem differs on purpose, the test is in
 * SemaphoreTest instead.
 */
public class JucSemaphoreTest {
    /** Generous bound for anything that should happen "soon": noisy shared cores. */
    private static final long SLACK_MS = 10_000;

    static void awaitQueue(Semaphore s, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SLACK_MS);
        while (s.getQueueLength() != n) {
            if (System.nanoTime() > deadline) {
                fail("never saw " + n + " queued thread(s), saw " + s.getQueueLength());
            }
            Thread.sleep(2);
        }
    }

    static Thread start(Runnable r) {
        Thread t = new Thread(r);
        t.start();
        return t;
    }

    static void join(Thread t) throws InterruptedException {
        t.join(SLACK_MS);
        assertFalse("thread still running", t.isAlive());
    }

    @Test
    public void constructorsAndQueries() {
        Semaphore s = new Semaphore(3);
        assertEquals(3, s.availablePermits());
        assertFalse(s.isFair());
        assertTrue(new Semaphore(0, true).isFair());
        assertEquals(0, s.getQueueLength());
        assertFalse(s.hasQueuedThreads());
    }

    @Test
    public void negativePermitsThrowIllegalArgumentExceptionAndChangeNothing() {
        Semaphore s = new Semaphore(2);
        assertThrows(IllegalArgumentException.class, () -> s.acquire(-1));
        assertThrows(IllegalArgumentException.class, () -> s.acquireUninterruptibly(-1));
        assertThrows(IllegalArgumentException.class, () -> s.tryAcquire(-1));
        assertThrows(IllegalArgumentException.class, () -> s.tryAcquire(-1, 1, TimeUnit.SECONDS));
        assertThrows(IllegalArgumentException.class, () -> s.release(-1));
        assertEquals(2, s.availablePermits());
    }

    @Test
    public void toStringEndsWithThePermitCount() {
        Semaphore s = new Semaphore(4);
        assertTrue(s.toString(), s.toString().endsWith("[Permits = 4]"));
        assertTrue(s.toString().startsWith(Semaphore.class.getName() + "@"));
    }

    @Test
    public void acquireAndReleaseCountPermits() throws Exception {
        Semaphore s = new Semaphore(5);
        s.acquire(3);
        assertEquals(2, s.availablePermits());
        s.acquire();
        s.acquireUninterruptibly();
        assertEquals(0, s.availablePermits());
        s.release(5);
        s.acquire(0);
        assertEquals(5, s.availablePermits());
    }

    @Test
    public void releaseNeedNotFollowAcquire() {
        Semaphore s = new Semaphore(0);
        s.release(10);
        assertEquals(10, s.availablePermits());
    }

    @Test
    public void tryAcquireTakesNothingWhenShort() {
        Semaphore s = new Semaphore(2);
        assertFalse(s.tryAcquire(3));
        assertEquals(2, s.availablePermits());
        assertTrue(s.tryAcquire(2));
        assertFalse(s.tryAcquire());
    }

    @Test
    public void timeoutOfZeroOrLessTriesOnceInEveryUnit() throws Exception {
        Semaphore s = new Semaphore(1);
        for (TimeUnit unit : TimeUnit.values()) {
            for (long timeout : new long[] { 0, -1, Long.MIN_VALUE }) {
                long t0 = System.nanoTime();
                assertTrue(s.tryAcquire(1, timeout, unit));
                assertFalse(s.tryAcquire(1, timeout, unit));
                assertFalse(s.tryAcquire(timeout, unit));
                assertTrue("tried once, did not wait", System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5));
                s.release();
            }
        }
    }

    @Test
    public void timedTryAcquireTimesOutNoEarlierThanAsked() throws Exception {
        Semaphore s = new Semaphore(0);
        long t0 = System.nanoTime();
        assertFalse(s.tryAcquire(1, 30, TimeUnit.MILLISECONDS));
        assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(30));
        assertEquals(0, s.getQueueLength());
        s.release();
        assertEquals(1, s.availablePermits());   // the timed-out waiter took nothing
    }

    @Test
    public void hugeTimeoutWaitsUntilReleased() throws Exception {
        Semaphore s = new Semaphore(0);
        AtomicReference<Boolean> got = new AtomicReference<>();
        Thread t = start(() -> {
            try {
                got.set(s.tryAcquire(1, Long.MAX_VALUE, TimeUnit.DAYS));
            } catch (InterruptedException e) {
                got.set(null);
            }
        });
        awaitQueue(s, 1);
        s.release();
        join(t);
        assertEquals(Boolean.TRUE, got.get());
    }

    @Test
    public void blockedAcquireIsWokenByRelease() throws Exception {
        Semaphore s = new Semaphore(0);
        Thread t = start(() -> {
            try {
                s.acquire(3);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        });
        awaitQueue(s, 1);
        assertTrue(s.hasQueuedThreads());
        s.release(2);
        Thread.sleep(20);
        assertTrue(t.isAlive());
        s.release(1);
        join(t);
        assertEquals(0, s.availablePermits());
    }

    @Test
    public void interruptEndsAcquireWithNoPermitTaken() throws Exception {
        Semaphore s = new Semaphore(1);
        AtomicReference<Throwable> got = new AtomicReference<>();
        Thread t = start(() -> {
            try {
                s.acquire(2);
            } catch (Throwable e) {
                got.set(e);
            }
        });
        awaitQueue(s, 1);
        t.interrupt();
        join(t);
        assertTrue(String.valueOf(got.get()), got.get() instanceof InterruptedException);
        assertEquals(0, s.getQueueLength());
        assertEquals(1, s.availablePermits());
    }

    @Test
    public void interruptEndsTimedTryAcquire() throws Exception {
        Semaphore s = new Semaphore(0);
        AtomicReference<Throwable> got = new AtomicReference<>();
        Thread t = start(() -> {
            try {
                s.tryAcquire(1, 1, TimeUnit.HOURS);
            } catch (Throwable e) {
                got.set(e);
            }
        });
        awaitQueue(s, 1);
        t.interrupt();
        join(t);
        assertTrue(got.get() instanceof InterruptedException);
        s.release();
        assertEquals(1, s.availablePermits());
    }

    /**
     * As java.util.concurrent: permits that an interrupted or timed-out
     * waiter was holding up go to the threads behind it. In a fair
     * semaphore the free permit waits for the head (acquire(2)); when the
     * head gives up, the acquire(1) behind it must be woken.
     */
    @Test
    public void aWaiterThatGivesUpPassesItsTurnOn() throws Exception {
        for (int way = 0; way < 2; way++) {
            Semaphore s = new Semaphore(1, true);
            final boolean timed = way == 1;
            AtomicReference<Throwable> headGot = new AtomicReference<>();
            Thread head = start(() -> {
                try {
                    if (timed) {
                        assertFalse(s.tryAcquire(2, 1, TimeUnit.SECONDS));
                    } else {
                        s.acquire(2);
                    }
                } catch (Throwable e) {
                    headGot.set(e);
                }
            });
            awaitQueue(s, 1);
            Thread next = start(() -> s.acquireUninterruptibly(1));
            awaitQueue(s, 2);
            if (!timed) {
                head.interrupt();
            }
            join(head);
            join(next);
            assertEquals(timed ? null : InterruptedException.class,
                         headGot.get() == null ? null : headGot.get().getClass());
            assertEquals(0, s.availablePermits());
            assertEquals(0, s.getQueueLength());
        }
    }

    @Test
    public void alreadyInterruptedThreadDoesNotWaitOrTake() {
        Semaphore s = new Semaphore(5);
        Thread.currentThread().interrupt();
        assertThrows(InterruptedException.class, () -> s.acquire());
        Thread.currentThread().interrupt();
        assertThrows(InterruptedException.class, () -> s.tryAcquire(1, 1, TimeUnit.HOURS));
        assertFalse(Thread.interrupted());   // cleared, as java.util.concurrent
        assertEquals(5, s.availablePermits());
        Thread.currentThread().interrupt();
        assertTrue(s.tryAcquire());          // the untimed try ignores interrupts
        assertTrue(Thread.interrupted());
    }

    @Test
    public void acquireUninterruptiblyWaitsThroughInterruptsAndKeepsTheFlag() throws Exception {
        Semaphore s = new Semaphore(0);
        AtomicReference<Boolean> flag = new AtomicReference<>();
        Thread t = start(() -> {
            s.acquireUninterruptibly(2);
            flag.set(Thread.currentThread().isInterrupted());
        });
        awaitQueue(s, 1);
        t.interrupt();
        Thread.sleep(20);
        assertTrue(t.isAlive());
        s.release(2);
        join(t);
        assertEquals(Boolean.TRUE, flag.get());
        assertEquals(0, s.availablePermits());
    }

    @Test
    public void fairSemaphoreGrantsInArrivalOrder() throws Exception {
        Semaphore s = new Semaphore(0, true);
        List<Integer> order = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            final int id = i;
            threads.add(start(() -> {
                s.acquireUninterruptibly();
                synchronized (order) {
                    order.add(id);
                }
            }));
            awaitQueue(s, i + 1);
        }
        for (int i = 0; i < 4; i++) {
            s.release();
            join(threads.get(i));
        }
        assertEquals(List.of(0, 1, 2, 3), order);
    }

    @Test
    public void fairSemaphoreServesALargeRequestBeforeLaterSmallOnes() throws Exception {
        Semaphore s = new Semaphore(0, true);
        Thread big = start(() -> s.acquireUninterruptibly(3));
        awaitQueue(s, 1);
        Thread small = start(() -> s.acquireUninterruptibly(1));
        awaitQueue(s, 2);
        s.release(1);
        Thread.sleep(20);
        assertTrue("the later small request overtook", small.isAlive());
        s.release(2);
        join(big);
        s.release(1);
        join(small);
    }

    @Test
    public void drainPermitsTakesAllFreePermits() {
        Semaphore s = new Semaphore(7);
        assertEquals(7, s.drainPermits());
        assertEquals(0, s.availablePermits());
        assertEquals(0, s.drainPermits());
        s.release(3);
        assertEquals(3, s.drainPermits());
    }

    /**
     * Token conservation: threads take and give back permits with every
     * kind of wait while some are interrupted and some time out; at the
     * end every permit is back.
     */
    @Test
    public void noPermitIsLostOrCreatedUnderInterruptsAndTimeouts() throws Exception {
        final int permits = 3;
        for (boolean fair : new boolean[] { false, true }) {
            Semaphore s = new Semaphore(permits, fair);
            AtomicLong taken = new AtomicLong();
            AtomicReference<Throwable> bad = new AtomicReference<>();
            CountDownLatch stop = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                final int kind = i % 3;
                threads.add(start(() -> {
                    while (stop.getCount() > 0) {
                        int n = 1 + (int) (taken.get() % 2);
                        boolean got = false;
                        try {
                            if (kind == 0) {
                                s.acquire(n);
                                got = true;
                            } else if (kind == 1) {
                                got = s.tryAcquire(n, 200, TimeUnit.MICROSECONDS);
                            } else {
                                got = s.tryAcquire(n);
                            }
                        } catch (InterruptedException e) {
                            continue;
                        } catch (Throwable e) {
                            bad.compareAndSet(null, e);
                            return;
                        }
                        if (got) {
                            taken.incrementAndGet();
                            s.release(n);
                        }
                    }
                }));
            }
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(700);
            while (System.nanoTime() < end) {
                for (Thread t : threads) {
                    t.interrupt();
                }
                Thread.sleep(1);
            }
            stop.countDown();
            for (Thread t : threads) {
                t.interrupt();
                join(t);
            }
            if (bad.get() != null) {
                throw new AssertionError(bad.get());
            }
            assertTrue(taken.get() > 0);
            assertEquals(0, s.getQueueLength());
            assertEquals("fair=" + fair, permits, s.availablePermits());
        }
    }
}
