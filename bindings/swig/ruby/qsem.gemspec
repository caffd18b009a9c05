# SPDX-License-Identifier: MIT
# frozen_string_literal: true

# The gem is packed by bindings/swig/ruby/pack_gem.sh, which lays this
# file out with lib/, ext/qsem/ (extconf.rb, the generated wrapper) and
# ext/qsem/core/ (the C core); `gem install` then compiles it.
version = File.read(File.join(__dir__, "ext/qsem/core/qsem_version.h"))[/QSEM_VERSION_STRING "([^"]+)"/, 1]

Gem::Specification.new do |s|
  s.name = "qsem"
  s.version = version
  s.summary = "A hardened counting semaphore (Qt QSemaphore semantics) for Ruby threads"
  s.description = "Qsem::Semaphore: counting semaphore with timeouts, close, fairness and " \
                  "interruptible waits that release the GVL, over the qsem C core."
  s.authors = ["qsem developers"]
  s.license = "MIT"
  s.required_ruby_version = ">= 2.7"
  s.files = Dir["lib/**/*.rb", "ext/qsem/**/*.{c,h,rb}"]
  s.extensions = ["ext/qsem/extconf.rb"]
  s.require_paths = ["lib"]
end
