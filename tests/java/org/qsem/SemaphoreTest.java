// SPDX-License-Identifier: MIT
package org.qsem;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.qsem.JucSemaphoreTest.awaitQueue;
import static org.qsem.JucSemaphoreTest.join;
import static org.qsem.JucSemaphoreTest.start;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.Test;

/**
 * What org.qsem.Semaphore adds to java.util.concurrent.Semaphore, and where
 * it differs on purpose (JucSemaphoreTest has the behaviour they share).
 */
public class SemaphoreTest {
    @Test
    public void boundAndVersion() {
        Semaphore s = new Semaphore(3);
        assertEquals(Semaphore.VALUE_MAX, s.maxPermits());
        assertEquals((1L << 62) - 1, Semaphore.VALUE_MAX);
        assertEquals(10, new Semaphore(3, 10, true).maxPermits());
        assertTrue(Semaphore.VERSION.matches("\\d+\\.\\d+\\.\\d+"));
    }

    /** java.util.concurrent allows a negative initial count; qsem does not. */
    @Test
    public void negativeOrOutOfBoundInitialCountsThrowIllegalArgumentException() {
        assertThrows(IllegalArgumentException.class, () -> new Semaphore(-1));
        assertThrows(IllegalArgumentException.class, () -> new Semaphore(-1, true));
        assertThrows(IllegalArgumentException.class, () -> new Semaphore(5, 4, false));
        assertThrows(IllegalArgumentException.class, () -> new Semaphore(0, Semaphore.VALUE_MAX + 1, false));
    }

    /** qsem's documented difference: in fair mode no call overtakes a queued thread. */
    @Test
    public void fairTryAcquireDoesNotOvertakeQueuedThreads() throws Exception {
        Semaphore s = new Semaphore(1, true);
        Thread big = start(() -> s.acquireUninterruptibly(2));
        awaitQueue(s, 1);
        assertFalse(s.tryAcquire());
        assertFalse(s.tryAcquire(1, 0, TimeUnit.SECONDS));
        assertEquals(1, s.availablePermits());
        s.release();
        join(big);
        assertTrue(new Semaphore(1, false).tryAcquire());
    }

    /** As java.util.concurrent: a null unit is a NullPointerException, whatever the timeout. */
    @Test
    public void nullUnitThrowsAndTakesNothing() {
        Semaphore s = new Semaphore(3);
        for (long timeout : new long[] {-5, 0, 1}) {
            assertThrows(NullPointerException.class, () -> s.tryAcquire(timeout, null));
            assertThrows(NullPointerException.class, () -> s.tryAcquire(2, timeout, null));
            assertThrows(NullPointerException.class, () -> s.tryAcquire(2L, timeout, null));
        }
        assertThrows(IllegalArgumentException.class, () -> s.tryAcquire(-1, 0, null));
        assertEquals(3, s.availablePermits());
    }

    @Test
    public void releasePastTheBoundThrowsAndChangesNothing() {
        Semaphore s = new Semaphore(2, 3, false);
        s.release();
        assertThrows(ArithmeticException.class, () -> s.release());
        assertEquals(3, s.availablePermits());
        assertEquals(3, s.maxPermits());
        assertThrows(IllegalArgumentException.class, () -> s.acquire(4));   // could never be met
    }

    @Test
    public void longCounts() throws Exception {
        long big = 3L * Integer.MAX_VALUE;
        Semaphore s = new Semaphore(big, Semaphore.VALUE_MAX, false);
        assertEquals(big, s.available());
        assertEquals(Integer.MAX_VALUE, s.availablePermits());
        s.acquire(big - 1);
        assertEquals(1, s.available());
        s.release(big);
        assertEquals(Integer.MAX_VALUE, s.drainPermits());
        assertEquals(big + 1 - Integer.MAX_VALUE, s.drain());
    }

    @Test
    public void closeWakesWaitersWithClosedExceptionAndReleaseStillWorks() throws Exception {
        Semaphore s = new Semaphore(0);
        AtomicInteger closed = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            final int kind = i;
            threads.add(start(() -> {
                try {
                    if (kind == 0) {
                        s.acquire();
                    } else if (kind == 1) {
                        s.tryAcquire(1, 1, TimeUnit.HOURS);
                    } else {
                        s.acquireUninterruptibly();
                    }
                } catch (ClosedException e) {
                    closed.incrementAndGet();
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            }));
        }
        awaitQueue(s, 3);
        s.close();
        for (Thread t : threads) {
            join(t);
        }
        assertEquals(3, closed.get());
        assertTrue(s.isClosed());
        assertThrows(ClosedException.class, () -> s.acquire());
        assertThrows(ClosedException.class, () -> s.tryAcquire());
        s.release(2);
        assertEquals(2, s.availablePermits());
        s.close();
    }
}
