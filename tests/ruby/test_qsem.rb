# SPDX-License-Identifier: MIT
# Ruby front end (SWIG): errors as Ruby exceptions, waits without the GVL,
# Thread#kill and Thread#raise reaching a blocked acquire, safe lifetime.
require "minitest/autorun"
require "qsem"

class TestQsem < Minitest::Test
  # Generous bounds: two noisy cores.
  SLACK = 5.0

  def setup
    @threads = []
  end

  def teardown
    # Closing wakes any thread still blocked in C even if Thread#kill cannot
    # reach it, so a broken interrupt path fails its test instead of hanging
    # the whole run.
    # Objects whose constructor raised hold no semaphore.
    ObjectSpace.each_object(Qsem::Semaphore) do |s|
      s.close
    rescue ObjectPreviouslyDeleted
      nil
    end
    # join re-raises what a thread died of; the tests have already checked it.
    @threads.each do |t|
      t.kill
      begin
        t.join(SLACK)
      rescue StandardError
        nil
      end
    end
    GC.start
  end

  def spawn(&blk)
    t = Thread.new(&blk)
    t.report_on_exception = false
    @threads << t
    t
  end

  # Polls until the semaphore reports `n` queued waiters.
  def wait_for_waiters(sem, n)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + SLACK
    until sem.waiting == n
      flunk "never saw #{n} waiter(s)" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
      sleep 0.005
    end
  end

  def test_construct_with_initial_max_and_fair
    sem = Qsem::Semaphore.new(3, 10, true)
    assert_equal 3, sem.available
    assert_equal 10, sem.max
    assert_equal 0, sem.waiting
    refute sem.closed?
    assert_equal Qsem::VALUE_MAX, Qsem::Semaphore.new.max
    assert_equal 0, Qsem::Semaphore.new.available
    assert_operator Qsem::VALUE_MAX, :>=, 2**31 - 1
    assert_match(/\A\d+\.\d+\.\d+\z/, Qsem::VERSION)
  end

  def test_keyword_options
    sem = Qsem::Semaphore.new(1, max: 5)
    assert_equal [1, 5], [sem.available, sem.max]
    assert_equal Qsem::VALUE_MAX, Qsem::Semaphore.new(2, fair: true).max
    assert_raises(ArgumentError) { Qsem::Semaphore.new(0, 5, max: 6) }
    assert_raises(ArgumentError) { Qsem::Semaphore.new(0, 5, true, fair: true) }
    assert_raises(ArgumentError) { Qsem::Semaphore.new(0, bogus: 1) }
    assert_raises(ArgumentError) { Qsem::Semaphore.new(3, max: 2) }
    # fair: a try fails while anyone queues, even with tokens free.
    s = Qsem::Semaphore.new(0, fair: true)
    spawn { s.acquire(2) }
    wait_for_waiters(s, 1)
    s.release(1)
    refute s.try_acquire(1)
    s.release(1)
  end

  def test_block_form_always_releases
    sem = Qsem::Semaphore.new(3)
    assert_equal :done, sem.acquire(2) { assert_equal 1, sem.available; :done }
    assert_equal 3, sem.available
    assert_raises(RuntimeError) { sem.acquire(3) { raise "boom" } }
    assert_equal 3, sem.available
    assert_equal :early, sem.acquire(2) { break :early }
    assert_equal 3, sem.available, "break from the block released too"
  end

  def test_block_form_interrupted_while_waiting_takes_nothing
    sem = Qsem::Semaphore.new(0)
    ran = false
    waiter = spawn { sem.acquire(1) { ran = true } }
    wait_for_waiters(sem, 1)
    waiter.raise(IOError, "poke")
    assert_raises(IOError) { waiter.join(SLACK) }
    refute ran
    assert_equal 0, sem.waiting
    sem.release(1)
    assert_equal 1, sem.available
  end

  def test_multi_token_acquire_and_release
    sem = Qsem::Semaphore.new(5)
    sem.acquire(3)
    assert_equal 2, sem.available
    sem.acquire
    assert_equal 1, sem.available
    sem.release(4)
    assert_equal 5, sem.available
    sem.acquire(0)
    assert_equal 5, sem.available
  end

  def test_try_acquire_takes_nothing_when_short
    sem = Qsem::Semaphore.new(2)
    refute sem.try_acquire(3)
    assert_equal 2, sem.available
    assert sem.try_acquire(2)
    assert_equal 0, sem.available
    refute sem.try_acquire
  end

  def test_timed_acquire_returns_false_after_the_timeout
    sem = Qsem::Semaphore.new(0)
    t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    refute sem.try_acquire(1, 0.2)
    elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
    assert_operator elapsed, :>=, 0.19, "wait ended early"
    assert_operator elapsed, :<, SLACK
    assert_equal 0, sem.available
  end

  def test_timed_acquire_succeeds_when_released_in_time
    sem = Qsem::Semaphore.new(0)
    spawn { sleep 0.05; sem.release(2) }
    assert sem.try_acquire(2, SLACK)
    assert_equal 0, sem.available
  end

  # Ruby's rule, as Kernel#sleep and Mutex#sleep: a negative timeout is an
  # ArgumentError; zero tries once; a huge or infinite one waits as long as
  # it takes; NaN is an ArgumentError.  The same for both units.
  def test_timeout_convention
    sem = Qsem::Semaphore.new(1)
    e = assert_raises(ArgumentError) { sem.try_acquire(1, -1.0) }
    assert_match(/a timeout a number of 0 or more/, e.message)
    assert_raises(ArgumentError) { sem.try_acquire_ns(1, -1) }
    assert_raises(ArgumentError) { sem.try_acquire(1, Float::NAN) }
    assert_equal 1, sem.available, 'a refused timeout takes nothing'
    assert sem.try_acquire(1, 0.0)
    refute sem.try_acquire(1, 0.0)
    refute sem.try_acquire_ns(1, 0)
    spawn { wait_for_waiters(sem, 1); sem.release }
    assert sem.try_acquire(1, Float::INFINITY)
    spawn { wait_for_waiters(sem, 1); sem.release }
    assert sem.try_acquire(1, 1e300)
    spawn { wait_for_waiters(sem, 1); sem.release }
    assert sem.try_acquire_ns(1, 2**63 - 1)
    # beyond a 64-bit integer: as huge, or as negative
    spawn { wait_for_waiters(sem, 1); sem.release }
    assert sem.try_acquire_ns(1, 2**64 + 5)
    spawn { wait_for_waiters(sem, 1); sem.release }
    assert sem.try_acquire_ns(1, Float::INFINITY)
    assert_raises(ArgumentError) { sem.try_acquire_ns(1, -2**64) }
    assert_raises(TypeError) { sem.try_acquire_ns(1, 1.5) }
    assert_equal 0, sem.available
  end

  def test_release_past_max_raises_range_error_and_changes_nothing
    sem = Qsem::Semaphore.new(1, 2)
    sem.release(1)
    assert_raises(RangeError) { sem.release(1) }
    assert_equal 2, sem.available
    full = Qsem::Semaphore.new(Qsem::VALUE_MAX)
    assert_raises(RangeError) { full.release(1) }
    assert_equal Qsem::VALUE_MAX, full.available
  end

  def test_bad_arguments_raise_argument_error_and_change_nothing
    sem = Qsem::Semaphore.new(2, 4)
    assert_raises(ArgumentError) { sem.acquire(-1) }
    assert_raises(ArgumentError) { sem.acquire(5) }
    assert_raises(ArgumentError) { sem.try_acquire(-1) }
    assert_raises(ArgumentError) { sem.try_acquire(1, Float::NAN) }
    assert_raises(ArgumentError) { sem.release(-1) }
    assert_raises(ArgumentError) { Qsem::Semaphore.new(-1) }
    assert_raises(ArgumentError) { Qsem::Semaphore.new(3, 2) }
    assert_raises(TypeError) { sem.acquire("two") }
    assert_equal 2, sem.available
  end

  def test_close_wakes_a_waiter_in_another_thread
    sem = Qsem::Semaphore.new(0)
    waiter = spawn { sem.acquire(2) }
    wait_for_waiters(sem, 1)
    sem.close
    err = assert_raises(Qsem::ClosedError) { waiter.value }
    assert_match(/closed/, err.message)
    assert sem.closed?
    assert_raises(Qsem::ClosedError) { sem.acquire }
    assert_raises(Qsem::ClosedError) { sem.try_acquire }
    sem.release(1)
    assert_equal 1, sem.available
    sem.close
  end

  def test_closed_error_ends_a_loop_like_closed_queue_error
    assert_operator Qsem::ClosedError, :<, StopIteration
    sem = Qsem::Semaphore.new(3)
    taken = 0
    consumer = spawn { loop { sem.acquire; taken += 1 } }
    wait_for_waiters(sem, 1)
    sem.close
    consumer.join(SLACK)
    refute consumer.alive?
    assert_equal 3, taken
  end

  def test_two_thread_handoff
    ping = Qsem::Semaphore.new(0)
    pong = Qsem::Semaphore.new(0)
    rounds = 200
    partner = spawn do
      rounds.times { ping.acquire; pong.release }
      :done
    end
    rounds.times { ping.release; pong.acquire }
    assert_equal :done, partner.value
    assert_equal 0, ping.available
    assert_equal 0, pong.available
  end

  # The wait must not hold the GVL: another Ruby thread keeps counting while
  # one is blocked in acquire.
  def test_blocked_acquire_releases_the_gvl
    sem = Qsem::Semaphore.new(0)
    waiter = spawn { sem.acquire; :got }
    wait_for_waiters(sem, 1)
    count = 0
    t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    count += 1 while Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0 < 0.2
    assert_operator count, :>, 1000
    assert waiter.alive?
    sem.release
    assert_equal :got, waiter.value
  end

  def test_thread_kill_ends_a_blocked_acquire_without_taking_tokens
    sem = Qsem::Semaphore.new(0)
    waiter = spawn { sem.acquire(1) }
    wait_for_waiters(sem, 1)
    waiter.kill
    assert waiter.join(SLACK), "Thread#kill did not reach the blocked acquire"
    assert_equal 0, sem.waiting
    sem.release(1)
    assert_equal 1, sem.available
  end

  def test_thread_raise_reaches_a_blocked_acquire_and_the_wait_can_resume
    sem = Qsem::Semaphore.new(0)
    caught = Queue.new
    waiter = spawn do
      begin
        sem.acquire(2)
        :unexpected
      rescue IOError
        caught << true
        sem.acquire(2)
        :resumed
      end
    end
    wait_for_waiters(sem, 1)
    waiter.raise(IOError, "poke")
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + SLACK
    while caught.empty?
      flunk "Thread#raise did not reach the blocked acquire" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
      sleep 0.005
    end
    assert_equal 0, sem.available
    wait_for_waiters(sem, 1)
    sem.release(2)
    assert_equal :resumed, waiter.value
    assert_equal 0, sem.available
  end

  # Ctrl-C reaches a main thread blocked in acquire: Ruby's SIGINT handler
  # raises Interrupt there, and the wait gives up without taking a token.
  def test_sigint_interrupts_a_blocked_acquire_in_the_main_thread
    sem = Qsem::Semaphore.new(0)
    spawn do
      wait_for_waiters(sem, 1)
      Process.kill(:INT, Process.pid)
      # Should the signal not get through, close rather than hang the run.
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + SLACK
      sleep 0.01 while sem.waiting.positive? && Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
      sem.close if sem.waiting.positive?
    end
    assert_raises(Interrupt) { sem.acquire(1) }
    assert_equal 0, sem.waiting
    sem.release(1)
    assert_equal 1, sem.available
  end

  def test_timeout_wait_survives_interrupt_checks
    # A trap-free interrupt (Thread#wakeup) must not end a timed wait early
    # or lose its deadline.
    sem = Qsem::Semaphore.new(0)
    t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    waiter = spawn { sem.try_acquire(1, 0.3) }
    wait_for_waiters(sem, 1)
    waiter.wakeup
    assert_equal false, waiter.value
    assert_operator Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0, :>=, 0.29
  end

  def test_dropping_the_last_handle_while_a_thread_waits_is_safe
    box = [Qsem::Semaphore.new(0)]
    other = box[0].dup_handle
    waiter = spawn { other.acquire(1); :got }
    wait_for_waiters(box[0], 1)
    box.clear
    GC.start
    # The waiter's own handle keeps the semaphore open.
    assert waiter.alive?
    other.release(1)
    assert_equal :got, waiter.value
  end

  def test_handles_share_one_semaphore
    a = Qsem::Semaphore.new(1)
    b = a.dup_handle
    assert b.try_acquire
    assert_equal 0, a.available
    a.release
    assert_equal 1, b.available
    a.close
    assert b.closed?
  end

  def test_dup_and_clone_are_second_handles
    a = Qsem::Semaphore.new(2, max: 3)
    [a.dup, a.clone, a.clone(freeze: true)].each do |b|
      assert_instance_of Qsem::Semaphore, b
      assert b.try_acquire
      assert_equal 1, a.available
      b.release
      assert_equal 2, a.available
      assert_equal 3, b.max
    end
    assert a.clone(freeze: true).frozen?
    refute a.clone.frozen?
    100.times { a.dup }
    GC.start
    assert_equal 2, a.available   # each copy's handle was its own
    refute a.closed?
  end

  def test_many_collected_handles_leave_a_live_one_working
    keep = Qsem::Semaphore.new(1)
    1000.times { keep.dup_handle }
    GC.start
    assert keep.try_acquire
    refute keep.closed?
  end
end
