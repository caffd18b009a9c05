# SPDX-License-Identifier: MIT
# C# front end: one of the SWIG languages (bindings/swig, tests/csharp),
# built with Mono beside the others in $(BUILD)-csharp.
BINDINGS += -DQSEM_BUILD_CSHARP=ON
.PHONY: csharp test-csharp

csharp:
	sh scripts/install-deps.sh core swig csharp
	$(call configure_front_end,$(BUILD)-csharp,-DQSEM_BUILD_SWIG=ON -DQSEM_BUILD_CSHARP=ON)

test-csharp: csharp
	ctest --test-dir $(BUILD)-csharp --output-on-failure -j $(JOBS) -L '^csharp$$'
