# SPDX-License-Identifier: MIT
# Ruby front end: one of the SWIG languages (bindings/swig, tests/ruby).
# It builds with the others in $(BUILD)-swig (mk/swig.mk), whose
# QSEM_BUILD_SWIG is already in BINDINGS; this runs its suites alone.
.PHONY: ruby test-ruby

ruby: swig

test-ruby: ruby
	ctest --test-dir $(BUILD)-swig --output-on-failure -j $(JOBS) -L '^ruby$$'
