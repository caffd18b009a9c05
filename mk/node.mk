# SPDX-License-Identifier: MIT
# Node.js front end (bindings/node: the addon, its tests, index.d.ts).
BINDINGS += -DQSEM_BUILD_NODE=ON
.PHONY: node test-node bench-node

node:
	sh scripts/install-deps.sh core node
	$(call configure_front_end,$(BUILD)-node,-DQSEM_BUILD_NODE=ON)

test-node: node
	ctest --test-dir $(BUILD)-node --output-on-failure -j $(JOBS) -L node

# qsem against async-sema, async-mutex, @esfx/async-semaphore and an
# Atomics.waitAsync counter (see the header of bench/node_bench.js).
bench-node: node
	NODE_PATH=$(CURDIR)/$(BUILD)-node/bindings/node/npm/node_modules \
	QSEM_NODE_ADDON=$(CURDIR)/$(BUILD)-node/bindings/node/qsem.node \
	    node bench/node_bench.js
