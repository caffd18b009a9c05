-- SPDX-License-Identifier: MIT
-- The version is csrc/qsem_version.h's (tests/install/lua.sh checks it).
-- From a clone:  luarocks --lua-version=5.4 make bindings/lua/qsem-0.1.0-1.rockspec
rockspec_format = "3.0"
package = "qsem"
version = "0.1.0-1"
source = {
   url = "git+https://github.com/qsem/qsem.git",
   tag = "v0.1.0",
}
description = {
   summary = "Hardened counting semaphore with QSemaphore semantics",
   detailed = [[
A counting semaphore shared by OS threads and Lua states, with timeouts on
the monotonic clock, close(), guards that give back exactly what they took,
and waits that cooperate with coroutine schedulers: cqueues out of the box,
luv through qsem.luv, any other host through a pollable fd.  qsem.ngx offers
the ngx.semaphore API.  Lua 5.1 (LuaJIT 2.1), 5.3 and 5.4.
]],
   license = "MIT",
   labels = { "concurrency", "semaphore", "coroutines" },
}
dependencies = {
   "lua >= 5.1, < 5.5",
}
build = {
   type = "command",
   install_command = [[sh bindings/lua/luarocks-build.sh "$(LIBDIR)" "$(CC)" "$(CFLAGS)" "$(LIBFLAG)" "$(LUA_INCDIR)"]],
   install = {
      lua = {
         ["qsem.luv"] = "bindings/lua/qsem/luv.lua",
         ["qsem.ngx"] = "bindings/lua/qsem/ngx.lua",
      },
   },
   copy_directories = {},
}
