package org.qsem;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.Test;

/** The Java front end (SWIG): exceptions, timeouts, threads and handle lifetime. */
public class SemaphoreTest {
    /** Generous bound for anything that should happen "soon": two noisy cores. */
    private static final long SLACK_MS = 5000;

    private static void awaitWaiters(Semaphore s, long n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SLACK_MS);
        while (s.waiting() != n) {
            if (System.nanoTime() > deadline) {
                fail("never saw " + n + " waiter(s)");
            }
            Thread.sleep(5);
        }
    }

    private static Throwable causeOf(CompletableFuture<?> f) throws Exception {
        try {
            f.get(SLACK_MS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        }
        fail("expected the task to fail");
        return null;
    }

    @Test
    public void constructsWithInitialMaxAndFair() {
        Semaphore s = new Semaphore(3, 10, true);
        assertEquals(3, s.available());
        assertEquals(10, s.max());
        assertEquals(0, s.waiting());
        assertFalse(s.isClosed());
        assertEquals(qsem.VALUE_MAX, new Semaphore().max());
        assertEquals(0, new Semaphore().available());
        assertEquals(2, new Semaphore(2).available());
        assertTrue(qsem.VALUE_MAX >= Integer.MAX_VALUE);
        assertTrue(qsem.VERSION.matches("\\d+\\.\\d+\\.\\d+"));
        s.delete();
    }

    @Test
    public void multiTokenAcquireAndRelease() {
        Semaphore s = new Semaphore(5);
        s.acquire(3);
        assertEquals(2, s.available());
        s.acquire();
        assertEquals(1, s.available());
        s.release(4);
        assertEquals(5, s.available());
        s.acquire(0);
        assertEquals(5, s.available());
        s.release();
        assertEquals(6, s.available());
    }

    @Test
    public void tryAcquireTakesNothingWhenShort() {
        Semaphore s = new Semaphore(2);
        assertFalse(s.tryAcquire(3));
        assertEquals(2, s.available());
        assertTrue(s.tryAcquire(2));
        assertFalse(s.tryAcquire());
        assertEquals(0, s.available());
    }

    @Test
    public void timedAcquireReturnsFalseAfterTheTimeout() {
        Semaphore s = new Semaphore(0);
        long t0 = System.nanoTime();
        assertFalse(s.tryAcquire(1, 200, TimeUnit.MILLISECONDS));
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue("wait ended early: " + elapsedMs, elapsedMs >= 190);
        assertTrue(elapsedMs < SLACK_MS);
        t0 = System.nanoTime();
        assertFalse(s.tryAcquire(1, 0.1));
        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) >= 90);
        assertFalse(s.tryAcquire(1, -5, TimeUnit.SECONDS));
    }

    @Test
    public void timedAcquireSucceedsWhenReleasedInTime() throws Exception {
        Semaphore s = new Semaphore(0);
        CompletableFuture<Void> r = CompletableFuture.runAsync(() -> {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            s.release(2);
        });
        assertTrue(s.tryAcquire(2, SLACK_MS, TimeUnit.MILLISECONDS));
        r.get(SLACK_MS, TimeUnit.MILLISECONDS);
        assertEquals(0, s.available());
    }

    @Test
    public void releasePastMaxThrowsArithmeticExceptionAndChangesNothing() {
        Semaphore s = new Semaphore(1, 2);
        s.release(1);
        assertThrows(ArithmeticException.class, () -> s.release(1));
        assertEquals(2, s.available());
        Semaphore full = new Semaphore(qsem.VALUE_MAX);
        assertThrows(ArithmeticException.class, () -> full.release(1));
        assertEquals(qsem.VALUE_MAX, full.available());
    }

    @Test
    public void badArgumentsThrowIllegalArgumentExceptionAndChangeNothing() {
        Semaphore s = new Semaphore(2, 4);
        assertThrows(IllegalArgumentException.class, () -> s.acquire(-1));
        assertThrows(IllegalArgumentException.class, () -> s.acquire(5));
        assertThrows(IllegalArgumentException.class, () -> s.tryAcquire(-1));
        assertThrows(IllegalArgumentException.class, () -> s.tryAcquire(1, Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> s.release(-1));
        assertThrows(IllegalArgumentException.class, () -> new Semaphore(-1));
        assertThrows(IllegalArgumentException.class, () -> new Semaphore(3, 2));
        assertThrows(IllegalArgumentException.class, () -> new Semaphore(0, qsem.VALUE_MAX + 1));
        assertEquals(2, s.available());
    }

    @Test
    public void closeWakesAWaiterInAnotherThread() throws Exception {
        Semaphore s = new Semaphore(0);
        CompletableFuture<Void> waiter = CompletableFuture.runAsync(() -> s.acquire(2));
        awaitWaiters(s, 1);
        s.close();
        Throwable t = causeOf(waiter);
        assertTrue("got " + t, t instanceof ClosedException);
        assertTrue(t instanceof IllegalStateException);
        assertTrue(s.isClosed());
        assertThrows(ClosedException.class, () -> s.acquire());
        assertThrows(ClosedException.class, () -> s.tryAcquire());
        s.release(1);
        assertEquals(1, s.available());
        s.close();
    }

    @Test
    public void tryWithResourcesClosesTheSemaphore() throws Exception {
        Semaphore s = new Semaphore(1);
        try (Semaphore t = s) {
            assertTrue(t.tryAcquire());
        }
        assertTrue(s.isClosed());
    }

    @Test
    public void twoThreadHandoff() throws Exception {
        Semaphore ping = new Semaphore(0);
        Semaphore pong = new Semaphore(0);
        int rounds = 1000;
        Thread partner = new Thread(() -> {
            for (int i = 0; i < rounds; i++) {
                ping.acquire();
                pong.release();
            }
        });
        partner.start();
        for (int i = 0; i < rounds; i++) {
            ping.release();
            pong.acquire();
        }
        partner.join(SLACK_MS);
        assertFalse(partner.isAlive());
        assertEquals(0, ping.available());
        assertEquals(0, pong.available());
    }

    /** Deleting the last handle while a thread waits closes the semaphore under it, safely. */
    @Test
    public void deletingTheLastHandleWhileAThreadWaitsWakesItClosed() throws Exception {
        Semaphore s = new Semaphore(0);
        CompletableFuture<Void> waiter = CompletableFuture.runAsync(() -> s.acquire(1));
        awaitWaiters(s, 1);
        s.delete();
        assertTrue(causeOf(waiter) instanceof ClosedException);
        s.delete(); // a second delete is a no-op
        assertThrows(IllegalStateException.class, () -> s.available());
        assertThrows(IllegalStateException.class, () -> s.release());
        assertThrows(IllegalStateException.class, () -> s.close());
    }

    @Test
    public void deletingOneOfTwoHandlesLeavesTheWaiterWaiting() throws Exception {
        Semaphore a = new Semaphore(0);
        Semaphore b = a.dup();
        CompletableFuture<Boolean> waiter = CompletableFuture.supplyAsync(
            () -> b.tryAcquire(1, SLACK_MS, TimeUnit.MILLISECONDS));
        awaitWaiters(b, 1);
        a.delete();
        assertFalse(b.isClosed());
        b.release(1);
        assertTrue(waiter.get(SLACK_MS, TimeUnit.MILLISECONDS));
        b.delete();
    }

    /** Collected proxies drop their handles; the collector never runs a finalizer under a live call. */
    @Test
    public void collectedHandlesLeaveALiveOneWorking() throws Exception {
        Semaphore keep = new Semaphore(1);
        for (int i = 0; i < 10000; i++) {
            keep.dup();
        }
        System.gc();
        System.runFinalization();
        assertTrue(keep.tryAcquire());
        assertFalse(keep.isClosed());
    }

    /** A blocked acquire holds no lock that keeps other Java threads or the collector from running. */
    @Test
    public void blockedAcquireLetsOtherThreadsAndTheCollectorRun() throws Exception {
        Semaphore s = new Semaphore(0);
        CompletableFuture<Void> waiter = CompletableFuture.runAsync(() -> s.acquire());
        awaitWaiters(s, 1);
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        assertFalse(waiter.isDone());
        s.release();
        waiter.get(SLACK_MS, TimeUnit.MILLISECONDS);
        assertEquals(0, s.available());
    }
}
