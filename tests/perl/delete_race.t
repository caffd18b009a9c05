# SPDX-License-Identifier: MIT
# Handle lifetime in the Perl front end: calls on a handle whose object
# is gone, DESTROY (which drops nothing), a zero or forged handle, a delete
# racing calls on other threads, and the last references of a shared
# object dropped in several threads at once.  Run against the ASan build
# too (ctest label asan), where a touch of freed memory aborts the test.
use strict;
use warnings;
use threads;
use threads::shared;
use Thread::Queue;
use Test::More;

use qsem;

my $DEAD = qr/^RuntimeError qsem: Semaphore used after delete/;

# A proxy whose pointer is whatever number we like: what a program that
# kept a stale copy of a handle, or made one up, would hand to the wrapper.
sub forged {
    my ($value) = @_;
    my $p = $value;
    return bless \$p, 'qsem::Semaphore';
}

sub raw { my ($s) = @_; return $$s }

subtest 'a handle whose object is gone is dead; DESTROY drops nothing' => sub {
    my $s = qsem::Semaphore->new(2);
    my $stale = forged(raw($s));
    # perl calls DESTROY for each thread's proxy of a shared object: it
    # must not take the semaphore away from the other references.
    $s->DESTROY;
    $s->DESTROY;
    is($s->available, 2, 'DESTROY called by hand changes nothing');
    undef $s;
    for my $call (
        [ available   => sub { $stale->available } ],
        [ try_acquire => sub { $stale->try_acquire(1) } ],
        [ acquire     => sub { $stale->acquire(1) } ],
        [ release     => sub { $stale->release(1) } ],
        [ waiting     => sub { $stale->waiting } ],
        [ max         => sub { $stale->max } ],
        [ closed      => sub { $stale->closed } ],
        [ close       => sub { $stale->close } ],
        [ dup         => sub { $stale->dup } ],
    ) {
        my ($name, $code) = @$call;
        ok(!eval { $code->(); 1 }, "$name after the last reference dies");
        like($@, $DEAD, "$name: with a message that says so");
    }
};

subtest 'zero, stale and forged handles die cleanly' => sub {
    my $s = qsem::Semaphore->new(1);
    my $stale = raw($s);
    undef $s;
    my $reuse = qsem::Semaphore->new(5);   # may take the freed slot
    for my $value (0, 1, $stale, 0xdeadbeef, ~0, raw($reuse) ^ (1 << 40)) {
        ok(!eval { forged($value)->available; 1 }, "handle $value refused");
        like($@, $DEAD, 'as a dead handle');
        ok(eval { qsemc::delete_Semaphore(forged($value)); 1 }, "delete of $value is a no-op");
    }
    is($reuse->available, 5, 'the semaphore that reused the slot is untouched');
};

# An object's handle goes only with its last reference, so only a forged
# delete can kill a handle under another thread's feet: this test forges
# one, as the worst a program could do.  Each round, workers
# hammer their copies while the main thread deletes every owner; workers
# stop at the first "used after delete".  A separate handle (the watch)
# counts the tokens after every round.
my $ROUNDS = $ENV{QSEM_RACE_ROUNDS} || 40;
my $WORKERS = 3;
my $TOKENS = 2;

subtest "delete race: $ROUNDS rounds, $WORKERS threads" => sub {
    my ($dead, $calls) = (0, 0);
    for my $round (1 .. $ROUNDS) {
        my $s = qsem::Semaphore->new($TOKENS, $TOKENS, $round % 2);
        my $watch = $s->dup;
        my $go :shared = 0;
        my @t = map {
            threads->create(sub {
                { lock($go); cond_wait($go) until $go; }
                my ($n, $held) = (0, 0);
                for my $i (1 .. 1_000_000) {
                    my $ok = eval {
                        if ($i % 3 == 0) {
                            $held = 1 if $s->try_acquire(1);
                        } elsif ($i % 3 == 1) {
                            $held = 1 if $s->try_acquire(1, 0.0001);
                        } else {
                            die "too many tokens\n" if $s->available > $TOKENS;
                        }
                        $s->release(1) if $held;
                        $held = 0;
                        1;
                    };
                    $n++;
                    next if $ok;
                    # A token taken before the delete cannot go back
                    # through the dead handle: report it.
                    return [ $n, $@, $held ];
                }
                return [ $n, 'survived', 0 ];
            })
        } 1 .. $WORKERS;
        my $killer = forged(raw($s));
        { lock($go); $go = 1; cond_broadcast($go); }
        threads->yield for 1 .. ($round % 7) * 10;
        # The one owner (the object's shared scalar), then a delete of the
        # dead handle, which does nothing.
        qsemc::delete_Semaphore($killer) for 1 .. 2;
        my $held = 0;
        for my $t (@t) {
            my ($n, $how, $h) = @{ $t->join };
            $calls += $n;
            $held += $h;
            if ($how eq 'survived') {
                next;
            }
            like($how, $DEAD, 'a worker stopped on a dead handle') or last;
            $dead++;
        }
        is($watch->available + $held, $TOKENS, "round $round: every token free or held") or last;
        $watch->release($held);
        ok(!$watch->closed, 'the watch handle keeps it open') or last;
    }
    cmp_ok($dead, '>', 0, "some calls met the delete ($dead of " . $ROUNDS * $WORKERS . " workers, $calls calls)");
};

# The last references race: each round, workers get the object through a
# queue, hammer it, and drop it at a random point, while the main thread
# drops its own; whichever drop is last deletes the handle, with the other
# workers still calling through the raw handle.  A call through a held
# object must never find the handle dead (no early close), and once every
# reference is gone the handle must be (no leak).
subtest "last references race: $ROUNDS rounds, $WORKERS threads" => sub {
    my $in = Thread::Queue->new;
    my $out = Thread::Queue->new;
    my @t = map {
        my $seed = $_;
        threads->create(sub {
            srand($seed * 104729);
            for (;;) {
                # Not in a loop condition, whose temporary copy of the
                # object would live as long as the iteration.
                my $s = $in->dequeue;
                last unless defined $s;
                my $raw = forged(raw($s));
                my $keep = int(rand(2000));
                my ($n, $how, $held) = (0, 'survived', 0);
                for my $i (1 .. 4000) {
                    my $through = $i <= $keep ? $s : $raw;
                    undef $s if $i == $keep + 1;
                    my $ok = eval {
                        $held = 1 if $through->try_acquire(1);
                        $through->release(1) if $held;
                        $held = 0;
                        1;
                    };
                    $n++;
                    next if $ok;
                    $how = $i <= $keep ? "held object: $@" : $@;
                    last;
                }
                undef $s;
                $out->enqueue(shared_clone([ $n, $how, $held ]));
            }
            return 1;
        })
    } 1 .. $WORKERS;
    my ($dead, $calls) = (0, 0);
    for my $round (1 .. $ROUNDS) {
        my $s = qsem::Semaphore->new($TOKENS, $TOKENS, $round % 2);
        my $watch = $s->dup;
        my $gone = forged(raw($s));
        $in->enqueue($s) for 1 .. $WORKERS;
        threads->yield for 1 .. ($round % 7) * 10;
        undef $s;
        my $held = 0;
        for (1 .. $WORKERS) {
            my ($n, $how, $h) = @{ $out->dequeue };
            $calls += $n;
            $held += $h;
            next if $how eq 'survived';
            like($how, $DEAD, 'a worker stopped on the raw handle, dead') or last;
            $dead++;
        }
        is($watch->available + $held, $TOKENS, "round $round: every token free or held") or last;
        $watch->release($held);
        ok(!eval { $gone->available; 1 }, "round $round: the handle went with the last reference") or last;
    }
    $in->end;
    $_->join for @t;
    cmp_ok($dead, '>', 0, "some calls met the delete ($dead of " . $ROUNDS * $WORKERS . " workers, $calls calls)");
};

done_testing;
