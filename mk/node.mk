# Node.js front end (bindings/node: the addon, its tests, index.d.ts).
BINDINGS += -DQSEM_BUILD_NODE=ON
.PHONY: node test-node

node: deps
	$(call configure_front_end,$(BUILD)-node,-DQSEM_BUILD_NODE=ON)

test-node: node
	ctest --test-dir $(BUILD)-node --output-on-failure -j $(JOBS) -L node
