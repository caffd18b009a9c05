-- Build from the repository root:  luarocks --lua-version=5.4 make bindings/lua/qsem-0.1.0-1.rockspec
-- The version matches csrc/qsem_version.h.
rockspec_format = "3.0"
package = "qsem"
version = "0.1.0-1"
source = {
   url = "git+file://./",
}
description = {
   summary = "Hardened counting semaphore with QSemaphore semantics, for Lua 5.4",
   detailed = [[
A counting semaphore shared by OS threads and Lua states, with timeouts on
the monotonic clock, close(), to-be-closed guards, and waits that cooperate
with coroutine schedulers (cqueues out of the box, any other host through a
pollable fd).
]],
}
dependencies = {
   "lua >= 5.4, < 5.5",
}
build = {
   type = "builtin",
   modules = {
      qsem = {
         sources = { "bindings/lua/lqsem.c", "csrc/qsem_all.c" },
         incdirs = { "csrc" },
         libraries = { "pthread", "dl" },
      },
   },
   platforms = {
      linux = {
         modules = {
            qsem = {
               sources = { "bindings/lua/lqsem.c", "csrc/qsem_all.c" },
               incdirs = { "csrc" },
               libraries = { "pthread", "dl" },
            },
         },
      },
   },
}
