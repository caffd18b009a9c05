# SPDX-License-Identifier: MIT
# Tcl front end: one of the SWIG languages (bindings/swig, tests/tcl).
# It builds with the others in $(BUILD)-swig (mk/swig.mk), whose
# QSEM_BUILD_SWIG is already in BINDINGS; this runs its suites alone.
.PHONY: tcl test-tcl

tcl: swig

test-tcl: tcl
	ctest --test-dir $(BUILD)-swig --output-on-failure -j $(JOBS) -L '^tcl$$'
