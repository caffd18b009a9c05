// SPDX-License-Identifier: MIT
package org.qsem;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.lang.ref.WeakReference;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.Test;

/**
 * Handle lifetime: delete() racing with calls on other threads, calls after
 * delete, double delete, collection.  Run under AddressSanitizer as well
 * (ctest java_handles), where a freed handle read by any call is a report.
 */
public class HandleRaceTest {
    private static final int ROUNDS = 400;
    private static final int THREADS = 4;

    /**
     * THREADS threads hammer tryAcquire / release / timed tryAcquire /
     * availablePermits / blocking acquire while the main thread deletes.
     * Every call either works or throws IllegalStateException (a dead
     * handle, or ClosedException for a wait the delete closed); nothing
     * else, and no crash. Tokens are counted while the handle is alive.
     */
    @Test
    public void deleteRacingWithCallsFailsCleanly() throws Exception {
        AtomicReference<Throwable> unexpected = new AtomicReference<>();
        AtomicLong calls = new AtomicLong();
        for (int round = 0; round < ROUNDS && unexpected.get() == null; round++) {
            Semaphore s = new Semaphore(2, 8, round % 2 == 0);
            CyclicBarrier start = new CyclicBarrier(THREADS + 1);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                final int kind = t;
                Thread th = new Thread(() -> {
                    try {
                        start.await();
                        for (;;) {
                            calls.incrementAndGet();
                            switch (kind) {
                            case 0:
                                if (s.tryAcquire()) {
                                    s.release();
                                }
                                break;
                            case 1:
                                if (s.tryAcquire(1, 1, TimeUnit.MILLISECONDS)) {
                                    s.release();
                                }
                                break;
                            case 2:
                                s.availablePermits();
                                s.getQueueLength();
                                s.isClosed();
                                break;
                            default:
                                s.acquire(2);
                                s.release(2);
                                break;
                            }
                        }
                    } catch (IllegalStateException expected) {
                        // dead handle, or closed by the delete: the way out
                    } catch (Throwable e) {
                        unexpected.compareAndSet(null, e);
                    }
                });
                threads.add(th);
                th.start();
            }
            start.await();
            Thread.sleep(round % 3);
            s.delete();
            for (Thread th : threads) {
                th.join(TimeUnit.SECONDS.toMillis(30));
                assertTrue("a thread hung after delete()", !th.isAlive());
            }
        }
        if (unexpected.get() != null) {
            throw new AssertionError("unexpected exception", unexpected.get());
        }
        assertTrue(calls.get() > ROUNDS);
    }

    @Test
    public void everyMethodAfterDeleteThrowsIllegalStateException() {
        Semaphore s = new Semaphore(3);
        s.delete();
        assertThrows(IllegalStateException.class, () -> s.acquire());
        assertThrows(IllegalStateException.class, () -> s.acquireUninterruptibly(2));
        assertThrows(IllegalStateException.class, () -> s.tryAcquire());
        assertThrows(IllegalStateException.class, () -> s.tryAcquire(1, 1, TimeUnit.SECONDS));
        assertThrows(IllegalStateException.class, () -> s.release());
        assertThrows(IllegalStateException.class, () -> s.availablePermits());
        assertThrows(IllegalStateException.class, () -> s.drainPermits());
        assertThrows(IllegalStateException.class, () -> s.getQueueLength());
        assertThrows(IllegalStateException.class, () -> s.hasQueuedThreads());
        assertThrows(IllegalStateException.class, () -> s.maxPermits());
        assertThrows(IllegalStateException.class, () -> s.close());
        assertThrows(IllegalStateException.class, () -> s.isClosed());
        assertThrows(IllegalStateException.class, () -> s.toString());
    }

    /**
     * Handles that were never issued, or were issued and deleted (also once
     * their slot holds a newer semaphore), reach nothing: every call
     * throws IllegalStateException, and the newer semaphore is untouched.
     */
    @Test
    public void forgedAndStaleHandlesThrowIllegalStateException() {
        NativeSemaphore old = new NativeSemaphore(1, Semaphore.VALUE_MAX, false);
        long stale = NativeSemaphore.getCPtr(old);
        old.delete();
        Semaphore newer = new Semaphore(7);
        // Not stale ^ 1: that names the neighbouring slot under the same
        // generation, which is a live handle whenever another semaphore of
        // this JVM holds that slot in its first generation.
        long unissued = (1L << 32) | ((1L << 22) - 1);   // generation 1 of a slot never allocated
        long[] handles = { 0, 1, -1, stale, unissued, stale + (1000L << 32), Long.MAX_VALUE, Long.MIN_VALUE, 0xdeadbeefL };
        for (long h : handles) {
            NativeSemaphore forged = new NativeSemaphore(h, false);
            assertThrows(IllegalStateException.class, () -> forged.available());
            assertThrows(IllegalStateException.class, () -> forged.release(1));
            assertThrows(IllegalStateException.class, () -> forged.tryNow(1));
            assertThrows(IllegalStateException.class, () -> forged.close());
            assertThrows(IllegalStateException.class, () -> forged.waitStart(Thread.currentThread(), 1, -1));
        }
        assertEquals(7, newer.availablePermits());
        assertTrue(!newer.isClosed());
        newer.delete();
    }

    @Test
    public void doubleDeleteIsHarmless() {
        Semaphore s = new Semaphore(1);
        s.delete();
        s.delete();
        Semaphore other = new Semaphore(5);
        assertEquals(5, other.availablePermits());   // the freed slot is not reachable through s
        assertThrows(IllegalStateException.class, () -> s.availablePermits());
        other.delete();
    }

    @Test
    public void deleteWakesABlockedWaiterWithClosedException() throws Exception {
        Semaphore s = new Semaphore(0);
        AtomicReference<Throwable> got = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                s.acquire();
            } catch (Throwable e) {
                got.set(e);
            }
        });
        t.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!s.hasQueuedThreads()) {
            assertTrue("the waiter never queued", System.nanoTime() < deadline);
            Thread.sleep(2);
        }
        s.delete();
        t.join(10_000);
        assertTrue(got.get() instanceof ClosedException);
    }

    /**
     * An unreachable Semaphore is collected (its Cleaner action does not
     * hold it) and the Cleaner then deletes its native handle: the proxy,
     * kept here, reports a dead handle.
     */
    @Test
    public void theCleanerDeletesTheHandleOfAnUnreachableSemaphore() throws Exception {
        Field field = Semaphore.class.getDeclaredField("handle");
        field.setAccessible(true);
        Semaphore s = new Semaphore(1);
        NativeSemaphore proxy = (NativeSemaphore) field.get(s);
        WeakReference<Semaphore> ref = new WeakReference<>(s);
        s = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        for (;;) {
            System.gc();
            Thread.sleep(10);
            try {
                proxy.available();
            } catch (IllegalStateException deleted) {
                break;
            }
            assertTrue("the Cleaner never deleted the handle", System.nanoTime() < deadline);
        }
        assertNull(ref.get());
    }

    /** Semaphores dropped without delete() are freed by the Cleaner, without harm to live ones. */
    @Test
    public void collectedSemaphoresAreFreedByTheCleaner() throws Exception {
        Semaphore keep = new Semaphore(1);
        for (int i = 0; i < 20_000; i++) {
            new Semaphore(i % 7).release(1);
        }
        System.gc();
        Thread.sleep(50);
        keep.acquire();
        keep.release();
        assertEquals(1, keep.availablePermits());
    }
}
