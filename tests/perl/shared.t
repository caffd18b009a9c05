# SPDX-License-Identifier: MIT
# qsem::Semaphore objects across ithreads the ways threads::shared moves
# data: Thread::Queue, shared_clone, a :shared hash.  Each copy is the same
# semaphore, tokens are conserved, and the semaphore's handle goes with
# the last reference to the object, in whichever thread or container that
# is: not before (no early close), and not never (no leak).
use strict;
use warnings;
use threads;
use threads::shared;
use Thread::Queue;
use Scalar::Util qw(reftype);
use Time::HiRes qw(time sleep);
use Test::More;

use qsem;

# Generous bound for anything that should happen "soon": two noisy cores.
my $SLACK = 5;
my $DEAD = qr/^RuntimeError qsem: Semaphore used after delete/;

# An object that owns nothing: the raw handle of $s, to watch the handle's
# fate without keeping it alive.
sub observer {
    my ($s) = @_;
    my $raw = $$s;
    return bless \$raw, 'qsem::Semaphore';
}

sub alive { my ($o) = @_; return eval { $o->available; 1 } ? 1 : 0 }

sub await_waiters {
    my ($sem, $n) = @_;
    my $deadline = time + $SLACK;
    while ($sem->waiting != $n) {
        return 0 if time > $deadline;
        sleep 0.005;
    }
    return 1;
}

subtest 'the object is a blessed reference to a shared scalar' => sub {
    my $s = qsem::Semaphore->new(1);
    is(ref $s, 'qsem::Semaphore', 'blessed into qsem::Semaphore');
    is(reftype($s), 'SCALAR', 'a scalar reference');
    ok(is_shared($$s), 'shared, as Thread::Semaphore objects are');
};

subtest 'Thread::Queue to 4 workers, random counts, tokens counted' => sub {
    my $TOKENS = 5;
    my $s = qsem::Semaphore->new($TOKENS, $TOKENS, 1);
    my $q = Thread::Queue->new;
    my $held :shared = 0;
    my $over :shared = 0;
    my @t = map {
        my $seed = $_;
        threads->create(sub {
            srand($seed * 7919);
            my $sem = $q->dequeue;
            my ($ops, $tokens) = (0, 0);
            for my $i (1 .. 300) {
                my $n = 1 + int(rand(3));
                if ($i % 4 == 0) {
                    next unless $sem->down_timed(0.01, $n);
                } else {
                    $sem->acquire($n);
                }
                { lock($held); $held += $n; $over++ if $held > $TOKENS; }
                { lock($held); $held -= $n; }
                $i % 2 ? $sem->release($n) : $sem->up($n);
                $ops++;
                $tokens += $n;
            }
            return [ ref($sem), $ops, $tokens ];
        })
    } 1 .. 4;
    $q->enqueue($s) for @t;
    my ($ops, $tokens) = (0, 0);
    for my $t (@t) {
        my ($class, $n, $k) = @{ $t->join };
        is($class, 'qsem::Semaphore', 'the worker got a qsem::Semaphore');
        $ops += $n;
        $tokens += $k;
    }
    cmp_ok($ops, '>=', 4 * 225, "every blocking acquire completed ($ops ops, $tokens tokens)");
    is($over, 0, 'never more than the tokens held at once');
    is($held, 0, 'every token held was given back');
    is($s->available, $TOKENS, 'the semaphore has all its tokens');
    is($q->pending, 0, 'the queue is empty');
};

subtest 'shared_clone and a :shared hash hold the same semaphore' => sub {
    my $s = qsem::Semaphore->new(0);
    my $watch = observer($s);
    my $c = shared_clone($s);
    my $tree = shared_clone({ sem => $s, n => 1 });
    my %h :shared;
    $h{sem} = $s;
    $c->release(1);
    $tree->{sem}->release(1);
    $h{sem}->release(1);
    is($s->available, 3, 'a release through each copy reaches the one semaphore');
    my $t = threads->create(sub {
        $h{sem}->acquire(2);
        $tree->{sem}->down;
        return $h{sem}->available;
    });
    is($t->join, 0, "a thread's calls through the hash and the clone take the tokens");
    is($s->available, 0, 'seen here too');

    undef $s;
    undef $c;
    delete $tree->{sem};
    ok(alive($watch), 'open while the :shared hash still holds it');
    ok(!$h{sem}->closed, 'and usable through the hash');
    delete $h{sem};
    ok(!alive($watch), 'the handle went with the last reference, a hash entry');
    like($@, $DEAD, 'a later call on the raw handle says so');

    # The last reference held by a container that goes out of scope.
    my $inner;
    {
        my %scoped :shared;
        $scoped{sem} = qsem::Semaphore->new(1);
        $inner = observer($scoped{sem});
        ok(alive($inner), 'alive while the hash lives');
    }
    ok(!alive($inner), 'gone with the hash');
};

subtest 'the last reference dropped in a worker thread closes the semaphore then' => sub {
    # The threads start before the semaphore exists, so that they copy no
    # reference to it: the worker gets the object through a queue, the
    # waiter only its raw handle, which keeps nothing alive.
    my $to_worker = Thread::Queue->new;
    my $from_worker = Thread::Queue->new;
    my $to_waiter = Thread::Queue->new;
    my $waiter = threads->create(sub {
        my $raw = $to_waiter->dequeue;
        my $sem = bless \$raw, 'qsem::Semaphore';
        # Bounded, so that a semaphore that never closes fails the test
        # instead of hanging it.
        my $ok = eval { $sem->try_acquire(1, 2 * $SLACK) };
        return $ok ? 'acquired' : defined $ok ? 'timed out' : $@;
    });
    my $worker = threads->create(sub {
        my $sem = $to_worker->dequeue;
        $from_worker->enqueue('got it');
        $to_worker->dequeue;    # wait for the word
        undef $sem;
        $from_worker->enqueue('dropped');
        $to_worker->dequeue;    # stay alive until told: the drop, not the exit
        return 'done';
    });
    my $s = qsem::Semaphore->new(0);
    my $watch = observer($s);
    $to_waiter->enqueue($$s);
    ok(await_waiters($watch, 1), 'a thread is waiting on the semaphore');
    $to_worker->enqueue($s);
    undef $s;
    is($from_worker->dequeue, 'got it', 'the worker has the object; ours is gone');
    ok(!$watch->closed, 'still open: the worker holds the last reference');
    is($watch->waiting, 1, 'the waiter is still waiting');
    $to_worker->enqueue('drop');
    is($from_worker->dequeue, 'dropped', 'the worker dropped it');
    like($waiter->join, qr/^RuntimeError .*closed/, 'the waiter woke with "closed"');
    ok(!alive($watch), 'and the handle is gone');
    $to_worker->enqueue('exit');
    is($worker->join, 'done', 'the worker ended normally');
};

subtest 'copies made by thread creation still own the semaphore' => sub {
    my $s = qsem::Semaphore->new(0);
    my $watch = observer($s);
    my $go = Thread::Queue->new;
    my $t = threads->create(sub { $go->dequeue; $s->release(1); $s->available });
    undef $s;
    ok(alive($watch), "the thread's copy keeps it");
    $go->enqueue(1);
    is($t->join, 1, "the thread's copy works after ours is gone");
    ok(!alive($watch), 'gone with the thread');
};

# threads::shared stays off when loaded before threads (it warns so): the
# objects are then plain scalar references, and a new thread's copy owns
# the handle as well, through the magic's dup hook.
subtest 'with threads::shared off, a thread copy still owns the semaphore' => sub {
    my $program = <<'PERL';
use strict;
use warnings;
use qsem;
use threads;
my $s = qsem::Semaphore->new(0);
my $raw = $$s;
my $watch = bless \$raw, 'qsem::Semaphore';
print threads::shared::is_shared($$s) ? "shared\n" : "plain\n";
my $t = threads->create(sub { sleep 0.2; $s->release(1); $s->available });
undef $s;
print eval { $watch->available; 1 } ? "alive\n" : "dead\n";
print $t->join, "\n";
print eval { $watch->available; 1 } ? "alive\n" : "dead\n";
PERL
    # threads::shared's warning about the order goes to /dev/null.
    open(my $saved, '>&', \*STDERR) or die "dup STDERR: $!";
    open(STDERR, '>', '/dev/null') or die "/dev/null: $!";
    my $ok = open(my $child, '-|', $^X, (map { "-I$_" } grep { !ref } @INC),
                  '-MTime::HiRes=sleep', '-e', $program);
    open(STDERR, '>&', $saved) or die "restore STDERR: $!";
    ok($ok, 'a second perl started') or return;
    my $out = do { local $/; <$child> };
    close $child;
    is($out, "plain\nalive\n1\ndead\n",
       "plain object; open while the thread's copy lives; closed after");
};

done_testing;
