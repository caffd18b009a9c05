#!/bin/bash
# SPDX-License-Identifier: MIT
# Install test, Perl: lay out the distribution (the SWIG output generated
# now), then `perl Makefile.PL && make && make test && make install` into
# a clean INSTALL_BASE, as cpanm does, and run a program written here,
# outside the repository, with only that prefix on PERL5LIB.
set -euo pipefail

: "${QSEM_SOURCE_DIR:?QSEM_SOURCE_DIR must name the repository}"
: "${QSEM_BUILD_DIR:?QSEM_BUILD_DIR must name the CMake build directory}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sh "$QSEM_SOURCE_DIR/bindings/swig/perl/pack_dist.sh" "$QSEM_SOURCE_DIR" "$tmp/dist"
(
    cd "$tmp/dist"
    perl Makefile.PL INSTALL_BASE="$tmp/inst" >/dev/null
    make >/dev/null
    QSEM_RACE_ROUNDS=10 make test >/dev/null
    make install >/dev/null
)

cat > "$tmp/program.pl" <<'PERL'
use strict;
use warnings;
use threads;
use Thread::Queue;
use qsem 0.1;

my $want = shift;
die "VERSION_STRING $qsem::VERSION_STRING, want $want\n" unless $qsem::VERSION_STRING eq $want;
my ($from) = grep { m{/qsem\.pm\z} } values %INC;
die "qsem.pm loaded from $from, not the install\n" unless index($from, $ENV{QSEM_PREFIX}) == 0;
my $sem = qsem::Semaphore->new(0, 2);
my $t = threads->create(sub { $sem->down(2); 'got' });
$sem->up(2);
die "the thread did not get its tokens\n" unless $t->join eq 'got';
my $q = Thread::Queue->new;
$q->enqueue($sem);
my $t2 = threads->create(sub { my $s = $q->dequeue; $s->up(2); 'sent' });
die "the object did not cross Thread::Queue\n" unless $t2->join eq 'sent' && $sem->available == 2;
$sem->down(2);
die "release(undef) was accepted\n" if eval { $sem->release(undef); 1 };
die "release past max was accepted\n" if eval { $sem->release(3); 1 };
print "qsem $qsem::VERSION_STRING from $from: ok\n";
PERL

version=$(sed -n 's/^#define QSEM_VERSION_STRING "\(.*\)"/\1/p' "$QSEM_SOURCE_DIR/csrc/qsem_version.h")
cd "$tmp"
QSEM_PREFIX="$tmp/inst" PERL5LIB="$tmp/inst/lib/perl5" perl "$tmp/program.pl" "$version"
