# SPDX-License-Identifier: MIT
# Handle lifetime in the Perl front end: calls after DESTROY, a second
# DESTROY, a zero or forged handle, and a delete racing calls on other
# threads.  Run against the ASan build too (ctest label asan), where a
# touch of freed memory aborts the test.
use strict;
use warnings;
use threads;
use threads::shared;
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

sub raw { my ($s) = @_; return ${ tied(%$s) } }

subtest 'use after DESTROY dies, and a second DESTROY is harmless' => sub {
    my $s = qsem::Semaphore->new(2);
    $s->DESTROY;
    for my $call (
        [ available   => sub { $s->available } ],
        [ try_acquire => sub { $s->try_acquire(1) } ],
        [ acquire     => sub { $s->acquire(1) } ],
        [ release     => sub { $s->release(1) } ],
        [ waiting     => sub { $s->waiting } ],
        [ max         => sub { $s->max } ],
        [ closed      => sub { $s->closed } ],
        [ close       => sub { $s->close } ],
        [ dup         => sub { $s->dup } ],
    ) {
        my ($name, $code) = @$call;
        ok(!eval { $code->(); 1 }, "$name after DESTROY dies");
        like($@, $DEAD, "$name: with a message that says so");
    }
    ok(eval { $s->DESTROY; 1 }, 'a second DESTROY does nothing');
};

subtest "a thread's copy is dead after its own DESTROY" => sub {
    my $s = qsem::Semaphore->new(3);
    my $r = threads->create(sub {
        $s->DESTROY;
        my $ok = eval { $s->available; 1 };
        return $ok ? 'still callable' : $@;
    })->join;
    like($r, $DEAD, 'the copy dies');
    is($s->available, 3, "while the parent's copy still works");
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

# Perl's threads each own their copy of a proxy (CLONE adds owners), so
# only a forged delete can kill a handle under another thread's feet: this
# test forges one, as the worst a program could do.  Each round, workers
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
        # Every owner: this thread's copy and each worker's.
        qsemc::delete_Semaphore($killer) for 0 .. $WORKERS;
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

done_testing;
