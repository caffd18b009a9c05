# SPDX-License-Identifier: MIT
# Perl front end: one of the SWIG languages (bindings/swig, tests/perl).
# It builds with the others in $(BUILD)-swig (mk/swig.mk), whose
# QSEM_BUILD_SWIG is already in BINDINGS; this runs its suites alone.
.PHONY: perl test-perl

perl: swig

test-perl: perl
	ctest --test-dir $(BUILD)-swig --output-on-failure -j $(JOBS) -L '^perl$$'
