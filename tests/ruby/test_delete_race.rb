# SPDX-License-Identifier: MIT
# Handle lifetime in the Ruby front end.  Ruby frees a proxy only when the
# collector finds it unreachable, so no Ruby code can call a deleted one;
# what can race is the collector freeing proxies (and dropping the last
# handle, which closes the semaphore) while other threads wait without the
# GVL on handles of the same semaphore.  Run against the ASan build too
# (ctest label asan), where a touch of freed memory aborts the test.
# Also: Timeout.timeout ends a blocked acquire with nothing taken.
require "minitest/autorun"
require "timeout"
require "qsem"

class TestDeleteRace < Minitest::Test
  ROUNDS = Integer(ENV.fetch("QSEM_RACE_ROUNDS", "40"))
  WORKERS = 3
  TOKENS = 2

  def hammer(sem, stop)
    calls = 0
    until stop[0] || calls >= 3000
      case calls % 3
      when 0 then sem.release(1) if sem.try_acquire(1)
      when 1 then sem.release(1) if sem.try_acquire(1, 0.0001)
      else raise "too many tokens" if sem.available > TOKENS
      end
      calls += 1
    end
    calls
  rescue Qsem::ClosedError
    calls
  end

  def test_collector_races_waits
    calls = 0
    ROUNDS.times do |round|
      owner = [Qsem::Semaphore.new(TOKENS, TOKENS, round.odd?)]
      watch = owner[0].dup_handle
      stop = [false]
      workers = Array.new(WORKERS) do
        mine = owner[0].dup_handle
        Thread.new { hammer(mine, stop) }
      end
      # Churn: handles made and dropped while the workers wait, then the
      # owner's own handle goes too.
      50.times { owner[0].dup_handle }
      owner.clear
      GC.start
      sleep 0.001 * (round % 5)
      stop[0] = true
      calls += workers.sum(&:value)
      assert_equal TOKENS, watch.available, "round #{round}: every token back"
      refute watch.closed?, "the watch handle keeps it open"
    end
    puts "\ndelete race: #{ROUNDS} rounds, #{calls} calls"
  end

  def test_last_handle_collected_while_threads_wait
    ROUNDS.times do
      holder = [Qsem::Semaphore.new(0)]
      ptr = holder[0].dup_handle
      waiters = Array.new(WORKERS) do
        Thread.new do
          ptr.acquire(1)
          :granted
        rescue Qsem::ClosedError
          :closed
        end
      end
      Thread.pass until ptr.waiting == WORKERS
      holder.clear
      GC.start
      ptr.close
      assert_equal [:closed] * WORKERS, waiters.map(&:value)
    end
  end

  def test_timeout_ends_a_blocked_acquire_with_nothing_taken
    sem = Qsem::Semaphore.new(0)
    assert_raises(Timeout::Error) { Timeout.timeout(0.1) { sem.acquire(1) } }
    assert_equal 0, sem.waiting
    sem.release(1)
    assert_equal 1, sem.available
  end
end
