# SPDX-License-Identifier: MIT
# SWIG front ends (bindings/swig, tests/<language>).
BINDINGS += -DQSEM_BUILD_SWIG=ON
.PHONY: swig test-swig

swig:
	sh scripts/install-deps.sh core swig
	$(call configure_front_end,$(BUILD)-swig,-DQSEM_BUILD_SWIG=ON)

test-swig: swig
	ctest --test-dir $(BUILD)-swig --output-on-failure -j $(JOBS) -L swig
