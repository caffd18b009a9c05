# SPDX-License-Identifier: MIT
# Lua front end (bindings/lua, tests/lua).
BINDINGS += -DQSEM_BUILD_LUA=ON
.PHONY: lua test-lua bench-lua

lua:
	sh scripts/install-deps.sh core lua
	$(call configure_front_end,$(BUILD)-lua,-DQSEM_BUILD_LUA=ON)

test-lua: lua
	ctest --test-dir $(BUILD)-lua --output-on-failure -j $(JOBS) -L lua

# bench/lua_bench.lua under Lua 5.4 and LuaJIT: each row against its peer,
# median [min, max] over interleaved rounds, and the ratio per round.
# LUA_BENCH_FLAGS=--cpu times with CPU time (steadier on a shared machine).
LUA_BENCH_FLAGS ?=
bench-lua: lua
	LUA_CPATH_5_4="$(BUILD)-lua/bindings/lua/?.so;;" lua5.4 bench/lua_bench.lua $(LUA_BENCH_FLAGS)
	LUA_CPATH="$(BUILD)-lua/bindings/lua/luajit/?.so;;" luajit bench/lua_bench.lua $(LUA_BENCH_FLAGS)
