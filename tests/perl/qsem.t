# SPDX-License-Identifier: MIT
# The Perl front end (SWIG): die messages for errors, false for timeouts,
# ithreads sharing one semaphore, and handle lifetime across thread clones.
use strict;
use warnings;
use threads;
use threads::shared;
use Time::HiRes qw(time sleep);
use Test::More;

use qsem;

# Generous bound for anything that should happen "soon": two noisy cores.
my $SLACK = 5;

sub await_waiters {
    my ($sem, $n) = @_;
    my $deadline = time + $SLACK;
    while ($sem->waiting != $n) {
        return 0 if time > $deadline;
        sleep 0.005;
    }
    return 1;
}

subtest 'construct with initial, max and fair' => sub {
    my $s = qsem::Semaphore->new(3, 10, 1);
    is($s->available, 3, 'initial tokens');
    is($s->max, 10, 'max');
    is($s->waiting, 0, 'no waiters');
    ok(!$s->closed, 'open');
    is(qsem::Semaphore->new->max, $qsem::VALUE_MAX, 'default max is VALUE_MAX');
    is(qsem::Semaphore->new(2)->available, 2, 'defaults for max and fair');
    cmp_ok($qsem::VALUE_MAX, '>=', 2**31 - 1, 'VALUE_MAX is at least 2^31-1');
    like($qsem::VERSION_STRING, qr/^\d+\.\d+\.\d+$/, 'VERSION_STRING');
    ok(eval 'use qsem 0.1; 1', 'use qsem 0.1 is accepted') or diag $@;
    ok(!eval 'use qsem 99; 1', 'use qsem 99 is not');
};

subtest 'multi-token acquire and release' => sub {
    my $s = qsem::Semaphore->new(5);
    $s->acquire(3);
    is($s->available, 2, 'three taken');
    $s->acquire;
    is($s->available, 1, 'acquire defaults to one');
    $s->acquire(0);
    $s->release(4);
    is($s->available, 5, 'four given back');
    $s->release;
    is($s->available, 6, 'release defaults to one');
};

subtest 'try_acquire' => sub {
    my $s = qsem::Semaphore->new(2);
    ok(!$s->try_acquire(3), 'cannot take 3 of 2');
    is($s->available, 2, 'a failed try takes nothing');
    ok($s->try_acquire(2), 'takes exactly what is free');
    ok(!$s->try_acquire, 'then nothing is left');
};

subtest 'timed acquire' => sub {
    my $s = qsem::Semaphore->new(0);
    my $t0 = time;
    ok(!$s->try_acquire(1, 0.2), 'times out with a false result');
    my $elapsed = time - $t0;
    cmp_ok($elapsed, '>=', 0.19, 'did not end early');
    cmp_ok($elapsed, '<', $SLACK, 'did not hang');
    ok(!$s->try_acquire(1, -1), 'a negative timeout tries once');
    my $helper = threads->create(sub { sleep 0.05; $s->release(2); 1 });
    ok($s->try_acquire(2, $SLACK), 'succeeds when released in time');
    ok($helper->join, 'releasing thread finished');
};

# Perl's rule, as Thread::Semaphore's down_timed: a timeout of zero or less
# tries once, in seconds and in nanoseconds alike; NaN dies; a huge timeout
# waits as long as it takes.
subtest 'timeout convention' => sub {
    my $s = qsem::Semaphore->new(1);
    ok($s->try_acquire(1, -1), 'a negative timeout still tries');
    # Should a negative wait block, close the semaphore instead of hanging.
    my $done :shared = 0;
    my $rescuer = threads->create(sub {
        my $deadline = time + $SLACK;
        sleep 0.01 while !$done && !$s->waiting && time < $deadline;
        return 'ok' unless $s->waiting;
        $s->close;
        return 'had to close';
    });
    ok(!$s->try_acquire_ns(1, -1), 'a negative ns timeout tries once');
    ok(!$s->try_acquire(1, -1e300), 'so does a hugely negative one');
    ok(!$s->try_acquire(1, 0), 'zero tries once');
    ok(!$s->try_acquire_ns(1, 0), 'zero ns tries once');
    $done = 1;
    $s->release(1);
    ok($s->try_acquire(1, 0), 'and a free token is taken');
    is($rescuer->join, 'ok', 'no try waited');
    ok(!eval { $s->try_acquire(1, 9**9**9 / 9**9**9); 1 }, 'NaN dies');
    for my $huge (9**9**9, 1e300) {
        my $helper = threads->create(sub { await_waiters($s, 1); $s->release(1); 1 });
        ok($s->try_acquire(1, $huge), "a timeout of $huge waits until released");
        $helper->join;
    }
    my $helper = threads->create(sub { await_waiters($s, 1); $s->release(1); 1 });
    ok($s->try_acquire_ns(1, 1 << 62), 'so does a huge ns timeout');
    $helper->join;
    for my $huge (2**63, 2**70, 9**9**9) {
        $helper = threads->create(sub { await_waiters($s, 1); $s->release(1); 1 });
        ok($s->try_acquire_ns(1, $huge), "and an ns timeout of $huge, beyond 64 bits");
        $helper->join;
    }
    ok(!$s->try_acquire_ns(1, -2**70), 'one below -2**63 tries once');
    {
        my @warnings;
        local $SIG{__WARN__} = sub { push @warnings, @_ };
        ok(!eval { $s->try_acquire_ns(1, undef); 1 }, 'an undef ns timeout dies');
        like($@, qr/^ValueError .*undef/, 'as a ValueError');
        is(scalar @warnings, 0, 'without a warning');
    }
    is($s->available, 0, 'every token accounted for');
};

subtest "Thread::Semaphore's names" => sub {
    my $s = qsem::Semaphore->new(3);
    $s->down;
    $s->down(2);
    is($s->available, 0, 'down takes one, or n');
    ok(!$s->down_nb, 'down_nb on empty is false');
    $s->up;
    ok($s->down_nb, 'down_nb takes what is free');
    ok(!$s->down_timed(0.05), 'down_timed times out');
    $s->up(2);
    ok($s->down_timed(0.05, 2), 'down_timed takes n');
    ok(!eval { $s->down_force; 1 }, 'down_force dies');
    like($@, qr/^RuntimeError qsem: down_force is not supported/, 'saying why');
    ok(!eval { $s->up(undef); 1 }, 'up(undef) dies');
    is($s->available, 0, 'nothing changed');
};

subtest 'undef is an error, not zero' => sub {
    my $s = qsem::Semaphore->new(1);
    for my $call ([ release => sub { $s->release(undef) } ],
                  [ acquire => sub { $s->acquire(undef) } ],
                  [ try_acquire => sub { $s->try_acquire(undef) } ],
                  [ 'undef timeout' => sub { $s->try_acquire(1, undef) } ]) {
        ok(!eval { $call->[1]->(); 1 }, "$call->[0] dies");
        like($@, qr/^ValueError qsem: invalid argument/, 'as an invalid argument');
    }
    is($s->available, 1, 'and changes nothing');
};

subtest 'overflow error' => sub {
    my $s = qsem::Semaphore->new(1, 2);
    $s->release(1);
    ok(!eval { $s->release(1); 1 }, 'release past max dies');
    like($@, qr/^OverflowError .*maximum/, 'as an OverflowError');
    is($s->available, 2, 'and changes nothing');
};

subtest 'bad arguments' => sub {
    my $s = qsem::Semaphore->new(2, 4);
    for my $case (
        [ 'negative acquire',        sub { $s->acquire(-1) } ],
        [ 'acquire above max',       sub { $s->acquire(5) } ],
        [ 'negative try_acquire',    sub { $s->try_acquire(-1) } ],
        [ 'NaN timeout',             sub { $s->try_acquire(1, 9**9**9 / 9**9**9) } ],
        [ 'negative release',        sub { $s->release(-1) } ],
        [ 'negative initial',        sub { qsem::Semaphore->new(-1) } ],
        [ 'max below initial',       sub { qsem::Semaphore->new(3, 2) } ],
    ) {
        my ($name, $code) = @$case;
        ok(!eval { $code->(); 1 }, "$name dies");
        like($@, qr/^ValueError /, "$name is a ValueError");
    }
    ok(!eval { $s->acquire('two'); 1 }, 'a non-number dies');
    like($@, qr/TypeError/, 'as a TypeError');
    is($s->available, 2, 'nothing changed');
};

subtest 'close wakes a waiter in another thread' => sub {
    my $s = qsem::Semaphore->new(0);
    my $waiter = threads->create(sub {
        my $ok = eval { $s->acquire(2); 1 };
        return $ok ? 'acquired' : $@;
    });
    ok(await_waiters($s, 1), 'the other thread is waiting');
    $s->close;
    like($waiter->join, qr/^RuntimeError .*closed/, 'its acquire died with "closed"');
    ok($s->closed, 'closed');
    ok(!eval { $s->acquire; 1 }, 'acquire after close dies');
    like($@, qr/closed/, 'with "closed"');
    ok(!eval { $s->try_acquire; 1 }, 'try_acquire after close dies');
    $s->release(1);
    is($s->available, 1, 'release still works');
};

subtest 'two-thread handoff' => sub {
    my $ping = qsem::Semaphore->new(0);
    my $pong = qsem::Semaphore->new(0);
    my $rounds = 500;
    my $partner = threads->create(sub {
        for (1 .. $rounds) { $ping->acquire; $pong->release }
        return 'done';
    });
    for (1 .. $rounds) { $ping->release; $pong->acquire }
    is($partner->join, 'done', 'partner finished');
    is($ping->available + $pong->available, 0, 'no tokens left over');
};

subtest 'each thread owns its own handle' => sub {
    my $s = qsem::Semaphore->new(0);
    my $spare = $s->dup;
    my $waiter = threads->create(sub {
        my $ok = eval { $s->acquire(1); 1 };
        return $ok ? 'acquired' : $@;
    });
    ok(await_waiters($spare, 1), 'the other thread is waiting');
    # The parent's copy goes; the thread's copy keeps the semaphore open.
    undef $s;
    ok(!$spare->closed, 'still open while the thread holds a handle');
    $spare->release(1);
    is($waiter->join, 'acquired', 'the waiter got its token');
    # The thread's handles went with it; only $spare is left.
    ok(!$spare->closed, 'still open through the spare handle');
    undef $spare;
};

subtest 'dropping a handle, then closing through another, while a thread waits' => sub {
    my $s = qsem::Semaphore->new(0);
    my $view = $s->dup;
    my $waiter = threads->create(sub {
        # Drop this thread's inherited copies but $s, then wait on it.
        undef $view;
        my $ok = eval { $s->acquire(1); 1 };
        return $ok ? 'acquired' : $@;
    });
    ok(await_waiters($view, 1), 'the other thread is waiting');
    undef $s;
    ok(!$view->closed, 'open while handles remain');
    $view->close;
    like($waiter->join, qr/closed/, 'close reached the waiter through another handle');
};

subtest 'a blocked acquire does not stop other threads' => sub {
    my $s = qsem::Semaphore->new(0);
    my $waiter = threads->create(sub { $s->acquire(1); 'got' });
    ok(await_waiters($s, 1), 'waiting');
    my $worker = threads->create(sub { my $n = 0; $n++ for 1 .. 100_000; $n });
    is($worker->join, 100_000, 'another thread ran to completion meanwhile');
    $s->release(1);
    is($waiter->join, 'got', 'waiter finished');
};

subtest 'a %SIG handler that dies ends a blocked acquire' => sub {
    my $s = qsem::Semaphore->new(0);
    # Should the handler never run, close the semaphore instead of hanging.
    my $rescuer = threads->create(sub {
        return 'no waiter' unless await_waiters($s, 1);
        my $deadline = time + $SLACK;
        sleep 0.01 while $s->waiting && time < $deadline;
        return 'ok' unless $s->waiting;
        $s->close;
        return 'had to close';
    });
    my $t0 = time;
    my $ok = eval {
        local $SIG{ALRM} = sub { die "alarm\n" };
        Time::HiRes::alarm(0.2);
        $s->acquire(1);
        1;
    };
    my $err = $@;
    Time::HiRes::alarm(0);
    ok(!$ok, 'the acquire did not complete');
    is($err, "alarm\n", 'the handler\'s exception propagated');
    cmp_ok(time - $t0, '>=', 0.19, 'not before the alarm');
    is($rescuer->join, 'ok', 'promptly, without a close');
    is($s->waiting, 0, 'the waiter left the queue');
    $s->release(1);
    is($s->available, 1, 'and took no token');
};

subtest 'a %SIG handler that returns ends the wait with a die that says so' => sub {
    my $s = qsem::Semaphore->new(0);
    my $ran_at;
    my $t0 = time;
    local $SIG{ALRM} = sub { $ran_at = time - $t0 };
    Time::HiRes::alarm(0.05);
    ok(!eval { $s->try_acquire(1, $SLACK); 1 }, 'the timed wait dies');
    like($@, qr/^RuntimeError qsem: wait interrupted by a signal/, 'saying why');
    ok(defined $ran_at, 'the handler ran');
    cmp_ok(time - $t0, '<', $SLACK / 2, 'at the signal, not at the deadline');
    is($s->waiting, 0, 'the waiter left the queue');
    $s->release(1);
    is($s->available, 1, 'and took no token');
};

# threads->kill raises no OS signal: it marks the signal pending in the
# target thread's interpreter, which a blocked wait must look at.
subtest 'threads->kill ends a blocked acquire' => sub {
    my $s = qsem::Semaphore->new(1);
    $s->acquire(1);
    my $waiter = threads->create(sub {
        my $ran = 0;
        local $SIG{USR1} = sub { $ran++ };
        my $ok = eval { $s->acquire(1); 1 };
        return [ $ok ? 'acquired' : $@, $ran ];
    });
    ok(await_waiters($s, 1), 'the thread is waiting');
    $waiter->kill('USR1');
    my ($err, $ran) = @{ $waiter->join };
    like($err, qr/^RuntimeError qsem: wait interrupted by a signal/, 'the wait died saying so');
    is($ran, 1, 'after the handler ran');

    my $dier = threads->create(sub {
        local $SIG{USR2} = sub { die "stop\n" };
        my $ok = eval { $s->try_acquire(2, 1e9); 1 };
        return $ok ? 'acquired' : $@;
    });
    ok(await_waiters($s, 1), 'a second thread is waiting');
    $dier->kill('USR2');
    is($dier->join, "stop\n", "a handler's die propagates out of the wait");
    is($s->waiting, 0, 'nobody is left in the queue');
    $s->release(1);
    is($s->available, 1, 'no token taken or lost');
};

subtest 'many threads, tokens conserved' => sub {
    my $s = qsem::Semaphore->new(3);
    my @t = map {
        threads->create(sub {
            for (1 .. 200) { $s->acquire(2); $s->release(2) }
            1;
        })
    } 1 .. 4;
    is(scalar(grep { $_->join } @t), 4, 'all threads finished');
    is($s->available, 3, 'every token is back');
};

done_testing;
