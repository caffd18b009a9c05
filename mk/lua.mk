# Lua front end (bindings/lua, tests/lua).
BINDINGS += -DQSEM_BUILD_LUA=ON
.PHONY: lua test-lua

lua:
	sh scripts/install-deps.sh core lua
	$(call configure_front_end,$(BUILD)-lua,-DQSEM_BUILD_LUA=ON)

test-lua: lua
	ctest --test-dir $(BUILD)-lua --output-on-failure -j $(JOBS) -L lua
