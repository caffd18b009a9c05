// SPDX-License-Identifier: MIT
// The C# front end (SWIG, Mono): exceptions as System.Threading's
// semaphores throw them, Dispose that leaves every later call an
// ObjectDisposedException, Thread.Interrupt() ending a wait, and a delete
// race.  A console runner: prints "N passed, N failed" and exits non-zero
// on any failure.  `QsemTests.exe race` runs only the handle-lifetime tests
// (the ones the ASan build runs).
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using Qsem;
using Semaphore = Qsem.Semaphore;

static class QsemTests {
  static int passed, failed;
  // Generous bound for anything that should happen "soon": two noisy cores.
  static readonly TimeSpan Slack = TimeSpan.FromSeconds(5);

  static void Check(bool ok, string what) {
    if (ok) { passed++; } else { failed++; Console.WriteLine("FAIL: " + what); }
  }

  // The ParamName of the ArgumentOutOfRangeException that 'call' throws.
  static string ParamOf(Action call) {
    try { call(); } catch (ArgumentOutOfRangeException e) { return e.ParamName; }
    return null;
  }

  static void Throws<T>(Action call, string what) where T : Exception {
    try {
      call();
      failed++;
      Console.WriteLine("FAIL: " + what + ": nothing thrown, " + typeof(T).Name + " expected");
    } catch (T) {
      passed++;
    } catch (Exception e) {
      failed++;
      Console.WriteLine("FAIL: " + what + ": " + e.GetType().Name + " thrown, " + typeof(T).Name + " expected");
    }
  }

  static bool AwaitWaiters(Semaphore s, long n) {
    var sw = Stopwatch.StartNew();
    while (s.Waiting() != n) {
      if (sw.Elapsed > Slack) return false;
      Thread.Sleep(2);
    }
    return true;
  }

  static void Basics() {
    using (var s = new Semaphore(3, 10, true)) {
      Check(s.Available() == 3 && s.Max() == 10 && s.Waiting() == 0 && !s.IsClosed(), "construct");
      s.Acquire(2);
      s.Acquire();
      Check(s.Available() == 0, "acquire takes tokens");
      Check(!s.TryAcquire(), "try on empty");
      s.Release(3);
      Check(s.TryAcquire(3) && !s.TryAcquire(), "try takes exactly what is free");
      s.Release();
      Check(s.Available() == 1, "release");
    }
    Check(new Semaphore().Max() == qsem.VALUE_MAX, "default max");
  }

  static void Errors() {
    var s = new Semaphore(1, 2);
    Throws<ArgumentOutOfRangeException>(() => s.Acquire(-1), "negative acquire");
    Throws<ArgumentOutOfRangeException>(() => s.Acquire(3), "acquire past max");
    Throws<ArgumentOutOfRangeException>(() => s.Release(-1), "negative release");
    Throws<ArgumentOutOfRangeException>(() => new Semaphore(-1), "negative initial");
    s.Release(1);
    Throws<SemaphoreFullException>(() => s.Release(1), "release past max");
    Check(s.Available() == 2, "errors changed nothing");
    s.Close();
    Throws<ClosedException>(() => s.Acquire(1), "acquire after close");
    Throws<ClosedException>(() => s.TryAcquire(1, 1000), "timed acquire after close");
    s.Release(0);
    s.Dispose();
  }

  // C#'s rule and units, as SemaphoreSlim.Wait: an int timeout is in
  // milliseconds; a negative timeout is an argument error, except
  // Timeout.Infinite and Timeout.InfiniteTimeSpan; zero tries once; huge
  // waits.
  static void Timeouts() {
    var s = new Semaphore(1);
    Throws<ArgumentOutOfRangeException>(() => s.TryAcquire(1, -2), "negative ms");
    Throws<ArgumentOutOfRangeException>(() => s.TryAcquire(1, int.MinValue), "int.MinValue ms");
    Throws<ArgumentOutOfRangeException>(() => s.TryAcquireNs(1, -1), "negative ns");
    Throws<ArgumentOutOfRangeException>(() => s.TryAcquire(1, TimeSpan.FromMilliseconds(-2)), "negative TimeSpan");
    Check(ParamOf(() => s.TryAcquire(1, -2)) == "millisecondsTimeout", "names millisecondsTimeout");
    Check(ParamOf(() => s.TryAcquire(1, TimeSpan.FromSeconds(-1))) == "timeout", "names timeout");
    Check(ParamOf(() => s.TryAcquireNs(1, -1)) == "timeoutNs", "names timeoutNs");
    Check(s.Available() == 1, "refused timeouts took nothing");
    Check(s.TryAcquire(1, 0) && !s.TryAcquire(1, 0) && !s.TryAcquire(1, TimeSpan.Zero), "zero tries once");
    var sw = Stopwatch.StartNew();
    Check(!s.TryAcquire(1, 200), "a timed wait times out");
    Check(sw.Elapsed >= TimeSpan.FromMilliseconds(190) && sw.Elapsed < Slack,
          "an int timeout is milliseconds: not early, not hung");
    foreach (Func<bool> wait in new Func<bool>[] {
        () => s.TryAcquire(1, Timeout.Infinite),
        () => s.TryAcquire(1, int.MaxValue),
        () => s.TryAcquireNs(1, long.MaxValue),
        () => s.TryAcquire(1, TimeSpan.MaxValue),
        () => s.TryAcquire(1, Timeout.InfiniteTimeSpan) }) {
      var helper = new Thread(() => { AwaitWaiters(s, 1); s.Release(1); });
      helper.Start();
      Check(wait(), "a huge timeout waits until released");
      helper.Join();
    }
    Check(s.Available() == 0, "every token accounted for");
    s.Dispose();
  }

  static void CloseWakes() {
    var s = new Semaphore(0);
    Exception got = null;
    var t = new Thread(() => { try { s.Acquire(1); } catch (Exception e) { got = e; } });
    t.Start();
    Check(AwaitWaiters(s, 1), "waiter queued");
    s.Close();
    t.Join();
    Check(got is ClosedException, "close wakes a waiter with ClosedException");
    s.Dispose();
  }

  // Thread.Interrupt() racing with the release that grants the wait: the
  // wait either takes the token or throws with nothing taken, never both.
  // Mono may throw a pending interrupt on the way back from the native call
  // that took the tokens; the wait keeps them then, and the interrupt stays
  // pending for the thread's next blocking call (the gate below).
  static void InterruptRace() {
    const int rounds = 2000;
    int lost = 0, got1 = 0, got0 = 0;
    for (int i = 0; i < rounds; i++) {
      var s = new Semaphore(0, 10, (i & 2) != 0);
      var gate = new ManualResetEvent(false);
      int got = -1;
      var t = new Thread(() => {
        int g;
        try { s.Acquire(); g = 1; } catch (ThreadInterruptedException) { g = 0; }
        Volatile.Write(ref got, g);
        // absorb an interrupt still pending before the thread ends
        for (;;) {
          try { gate.WaitOne(); Thread.Sleep(0); break; } catch (ThreadInterruptedException) {}
        }
      });
      t.Start();
      while (s.Waiting() == 0) Thread.Sleep(0);
      int spin = new Random(i).Next(20000);
      if ((i & 1) == 0) { t.Interrupt(); Thread.SpinWait(spin); s.Release(1); }
      else { s.Release(1); Thread.SpinWait(spin); t.Interrupt(); }
      while (Volatile.Read(ref got) < 0) Thread.Sleep(0);
      long av = s.Available();
      if (got == 1) { got1++; if (av != 0) lost++; }
      else { got0++; if (av != 1) lost++; }
      gate.Set();
      Check(t.Join(Slack), "race: the thread ends");
      s.Dispose();
    }
    Check(lost == 0, "an interrupt racing a grant loses no token (" + lost + " lost)");
    Check(got1 > 0 && got0 > 0, "both outcomes happened");
  }

  static void Interrupt() {
    var s = new Semaphore(0);
    Exception got = null;
    var t = new Thread(() => { try { s.Acquire(1); } catch (Exception e) { got = e; } });
    t.Start();
    Check(AwaitWaiters(s, 1), "waiter queued");
    t.Interrupt();
    Check(t.Join(Slack), "Thread.Interrupt ends the wait");
    Check(got is ThreadInterruptedException, "with ThreadInterruptedException");
    Check(s.Waiting() == 0, "the waiter left the queue");

    // An already-interrupted thread does not wait.
    got = null;
    var sw = Stopwatch.StartNew();
    var u = new Thread(() => {
      Thread.CurrentThread.Interrupt();
      try { s.TryAcquire(1, 30000); } catch (Exception e) { got = e; }
    });
    u.Start();
    Check(u.Join(Slack) && got is ThreadInterruptedException, "an interrupted thread does not wait");
    Check(sw.Elapsed < Slack, "promptly");
    s.Release(1);
    Check(s.Available() == 1, "no token taken or lost");
    s.Dispose();
  }

  static void Dispose() {
    var s = new Semaphore(2);
    s.Dispose();
    Throws<ObjectDisposedException>(() => s.Acquire(1), "Acquire after Dispose");
    Throws<ObjectDisposedException>(() => s.TryAcquire(1), "TryAcquire after Dispose");
    Throws<ObjectDisposedException>(() => s.TryAcquire(1, -2), "a bad timeout after Dispose");
    Throws<ObjectDisposedException>(() => s.Release(1), "Release after Dispose");
    Throws<ObjectDisposedException>(() => s.Available(), "Available after Dispose");
    Throws<ObjectDisposedException>(() => s.Waiting(), "Waiting after Dispose");
    Throws<ObjectDisposedException>(() => s.Max(), "Max after Dispose");
    Throws<ObjectDisposedException>(() => s.IsClosed(), "IsClosed after Dispose");
    Throws<ObjectDisposedException>(() => s.Close(), "Close after Dispose");
    Throws<ObjectDisposedException>(() => s.Dup(), "Dup after Dispose");
    s.Dispose();
    Check(true, "a second Dispose is harmless");

    // The last handle's Dispose closes the semaphore for a waiter on a
    // borrowed view, which keeps working on valid memory.
    var owner = new Semaphore(0);
    var view = owner.Dup();
    Exception got = null;
    var t = new Thread(() => { try { view.Acquire(1); } catch (Exception e) { got = e; } });
    t.Start();
    Check(AwaitWaiters(owner, 1), "waiter queued");
    owner.Dispose();
    view.Close();
    t.Join();
    Check(got is ClosedException, "the waiter ends closed");
    view.Dispose();
  }

  // Workers hammer one Semaphore object while the main thread disposes it.
  // Each worker stops at its first ObjectDisposedException; a Dup (the
  // watch) counts the tokens after every round.
  const int Workers = 3, Tokens = 2;

  static void DeleteRace(int rounds) {
    long calls = 0, dead = 0;
    var bad = new List<string>();
    for (int round = 0; round < rounds; round++) {
      var s = new Semaphore(Tokens, Tokens, round % 2 == 1);
      var watch = s.Dup();
      long held = 0;
      var threads = new Thread[Workers];
      var start = new Barrier(Workers + 1);
      for (int w = 0; w < Workers; w++) {
        threads[w] = new Thread(() => {
          start.SignalAndWait();
          bool mine = false;
          for (int i = 0; i < 20000; i++) {
            try {
              switch (i % 3) {
              case 0: mine = s.TryAcquire(1); break;
              case 1: mine = s.TryAcquireNs(1, 100000); break;
              default: if (s.Available() > Tokens) lock (bad) bad.Add("too many tokens"); break;
              }
              if (mine) { s.Release(1); mine = false; }
              Interlocked.Increment(ref calls);
            } catch (ObjectDisposedException) {
              Interlocked.Increment(ref dead);
              break;
            } catch (Exception e) {
              lock (bad) bad.Add(e.GetType().Name + ": " + e.Message);
              break;
            }
          }
          // A token taken before the Dispose cannot go back through it.
          if (mine) Interlocked.Increment(ref held);
        });
        threads[w].Start();
      }
      start.SignalAndWait();
      Thread.SpinWait((round * 37) % 5000);
      s.Dispose();
      if (round % 4 == 0) s.Dispose();
      foreach (var t in threads) t.Join();
      if (watch.Available() + held != Tokens) bad.Add("round " + round + ": tokens lost or made");
      watch.Release(held);
      watch.Dispose();
    }
    for (int i = 0; i < bad.Count && i < 5; i++) Console.WriteLine("FAIL: " + bad[i]);
    Check(bad.Count == 0, "delete race: nothing but ObjectDisposedException, no token lost");
    Check(dead > 0, "delete race: some calls met the Dispose");
    Console.WriteLine("delete race: " + rounds + " rounds, " + calls + " calls, " + dead + " workers met the Dispose");
  }

  static void Run(string name, Action test) {
    try {
      test();
    } catch (Exception e) {
      failed++;
      Console.WriteLine("FAIL: " + name + ": " + e);
    }
  }

  static int Main(string[] args) {
    bool raceOnly = args.Length > 0 && args[0] == "race";
    int rounds = int.Parse(Environment.GetEnvironmentVariable("QSEM_RACE_ROUNDS") ?? "200");
    if (!raceOnly) {
      Run("Basics", Basics);
      Run("Errors", Errors);
      Run("Timeouts", Timeouts);
      Run("CloseWakes", CloseWakes);
      Run("Interrupt", Interrupt);
      Run("InterruptRace", InterruptRace);
    }
    Run("Dispose", Dispose);
    Run("DeleteRace", () => DeleteRace(rounds));
    Console.WriteLine(passed + " passed, " + failed + " failed");
    return failed == 0 && passed > 0 ? 0 : 1;
  }
}
