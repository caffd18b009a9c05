#!/bin/bash
# SPDX-License-Identifier: MIT
# Install test, Ruby: pack the gem from the sources (generating the SWIG
# wrapper), `gem install` it into a clean GEM_HOME, where it compiles,
# and run a program written here, outside the repository, against the
# installed gem only.
set -euo pipefail

: "${QSEM_SOURCE_DIR:?QSEM_SOURCE_DIR must name the repository}"
: "${QSEM_BUILD_DIR:?QSEM_BUILD_DIR must name the CMake build directory}"

home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT

sh "$QSEM_SOURCE_DIR/bindings/swig/ruby/pack_gem.sh" "$QSEM_SOURCE_DIR" "$home/pkg"
gem install --local --no-document --install-dir "$home/gems" "$home"/pkg/qsem-*.gem >/dev/null

cat > "$home/program.rb" <<'RUBY'
require "qsem"

want = ARGV.fetch(0)
abort "Qsem::VERSION #{Qsem::VERSION}, want #{want}" unless Qsem::VERSION == want
where = $LOADED_FEATURES.grep(/qsem\.so\z/).first.to_s
abort "qsem.so loaded from #{where}, not the gem" unless where.start_with?(ENV.fetch("GEM_HOME"))
sem = Qsem::Semaphore.new(1, max: 2, fair: true)
inside = sem.acquire(1) { sem.available }
abort "block form: #{inside} inside, #{sem.available} after" unless inside.zero? && sem.available == 1
t = Thread.new { sem.acquire(2); :got }
Thread.pass until sem.waiting == 1
sem.release(1)
abort "waiter did not get its tokens" unless t.value == :got
begin
  sem.try_acquire(1, -1)
  abort "a negative timeout was accepted"
rescue ArgumentError
end
puts "qsem #{Qsem::VERSION} from #{where}: ok"
RUBY

version=$(sed -n 's/^#define QSEM_VERSION_STRING "\(.*\)"/\1/p' "$QSEM_SOURCE_DIR/csrc/qsem_version.h")
cd "$home"
GEM_HOME="$home/gems" GEM_PATH="$home/gems" ruby "$home/program.rb" "$version"
