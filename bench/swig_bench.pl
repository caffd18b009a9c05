#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# qsem's SWIG Perl binding against Thread::Semaphore (core Perl), in one
# run, in interleaved rounds (each implementation once per round).
#
#   perl -IBUILD/bindings/swig/perl bench/swig_bench.pl [--quick] [--repeats N] [--json FILE]
#
# pair     uncontended acquire + release (Thread::Semaphore: down + up): ns per pair
# handoff  two ithreads pass one token back and forth: ns per handoff
use strict;
use warnings;
use threads;
use threads::shared;
use Thread::Semaphore;
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);
use qsem;

my ($quick, $repeats, $json) = (0, 7, undef);
while (@ARGV) {
    my $a = shift @ARGV;
    if ($a eq '--quick') { $quick = 1 }
    elsif ($a eq '--repeats' && @ARGV && $ARGV[0] =~ /^\d+$/) { $repeats = shift(@ARGV) || 1 }
    elsif ($a eq '--json' && @ARGV) { $json = shift @ARGV }
    else { die "usage: swig_bench.pl [--quick] [--repeats N] [--json FILE]\n" }
}
$repeats = 3 if $quick && $repeats > 3;
my $pairs = $quick ? 20_000 : 500_000;
my $handoffs = $quick ? 1_000 : 20_000;

sub now { clock_gettime(CLOCK_MONOTONIC) }

# name => [make(initial), acquire, release]
my @impls = (
    [ 'qsem (SWIG)',
      sub { qsem::Semaphore->new($_[0]) }, sub { $_[0]->acquire }, sub { $_[0]->release } ],
    [ 'Thread::Semaphore',
      sub { Thread::Semaphore->new($_[0]) }, sub { $_[0]->down }, sub { $_[0]->up } ],
);

sub pair {
    my ($impl, $n) = @_;
    my (undef, $make) = @$impl;
    my $s = $make->(1);
    # direct method calls, as a user writes them: no closure call in the loop
    my $t0;
    if (ref($s) eq 'Thread::Semaphore') {
        $t0 = now();
        for (1 .. $n) { $s->down; $s->up }
    } else {
        $t0 = now();
        for (1 .. $n) { $s->acquire; $s->release }
    }
    return (now() - $t0) * 1e9 / $n;
}

sub handoff {
    my ($impl, $n) = @_;
    my (undef, $make, $acq, $rel) = @$impl;
    my ($ping, $pong) = ($make->(0), $make->(0));
    # each ithread gets its own handle on the same qsem semaphore; a
    # Thread::Semaphore is a shared variable
    my $thr = threads->create(sub {
        for (1 .. $n) { $acq->($ping); $rel->($pong) }
        return 1;
    });
    my $t0 = now();
    for (1 .. $n) { $rel->($ping); $acq->($pong) }
    my $ns = (now() - $t0) * 1e9;
    $thr->join;
    return $ns / (2 * $n);
}

my @works = ([ 'pair', 'ns per pair', \&pair, $pairs ],
             [ 'handoff', 'ns per handoff', \&handoff, $handoffs ]);

sub median {
    my @v = sort { $a <=> $b } @_;
    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

printf "qsem SWIG Perl binding vs Thread::Semaphore, Perl %vd, median of %d [min, max]\n", $^V, $repeats;
my @json_parts;
for my $w (@works) {
    my ($id, $unit, $fn, $n) = @$w;
    my @samples = map { [] } @impls;
    for my $r (0 .. $repeats - 1) {
        for my $j (0 .. $#impls) {
            my $k = ($j + $r) % @impls;
            push @{ $samples[$k] }, $fn->($impls[$k], $n);
        }
    }
    print "\n$id, $unit\n";
    my @parts;
    for my $k (0 .. $#impls) {
        my @v = sort { $a <=> $b } @{ $samples[$k] };
        printf "  %-22s %10.1f  [%10.1f, %10.1f]\n", $impls[$k][0], median(@v), $v[0], $v[-1];
        push @parts, sprintf('{"name": "%s", "capped": false, "samples": [%s]}', $impls[$k][0],
                             join(', ', map { sprintf '%.3f', $_ } @{ $samples[$k] }));
    }
    push @json_parts, sprintf('{"id": "%s", "unit": "%s", "param": 0, "impls": [%s]}',
                              $id, $unit, join(', ', @parts));
}
if (defined $json) {
    open my $f, '>', $json or die "swig_bench.pl: $json: $!\n";
    printf $f qq({"tool": "swig_perl", "perl": "%vd", "repeats": %d, "quick": %s, "benchmarks": [\n%s\n]}\n),
        $^V, $repeats, $quick ? 'true' : 'false', join(",\n", @json_parts);
    close $f or die "swig_bench.pl: $json: $!\n";
}
