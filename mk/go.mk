# SPDX-License-Identifier: MIT
# Go front end (bindings/go, tests/go, bench/go).
BINDINGS += -DQSEM_BUILD_GO=ON
.PHONY: go test-go

go:
	sh scripts/install-deps.sh core
	$(call configure_front_end,$(BUILD)-go,-DQSEM_BUILD_GO=ON)

test-go: go
	ctest --test-dir $(BUILD)-go --output-on-failure -j $(JOBS) -L go
