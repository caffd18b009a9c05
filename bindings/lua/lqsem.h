/* SPDX-License-Identifier: MIT */
/*
** lqsem.h: what the parts of the Lua front end share (lqsem.c includes
** lqsem_hub.c and lqsem_wait.c, so the module is one translation unit).
**
**   lqsem.c        the module: arguments, semaphores, guards, shared names
**   lqsem_hub.c    the per-state hub: notification fd and resolved waits
**   lqsem_wait.c   waits in coroutines: generic hosts, cqueues, cancel
**   cqueues_glue.lua  the cqueues dispatcher, embedded at build time
**   methods.lua    methods written in Lua (s:with), embedded likewise
**   drive51.lua    the coroutine wait without to-be-closed variables (5.1,
**                  LuaJIT, 5.3) and the FFI fast paths of LuaJIT, likewise
**
** Lua 5.1 (LuaJIT 2.1), 5.3 and 5.4 are supported.  The compatibility
** layer below is the only place where the versions differ, apart from the
** coroutine wait: Lua 5.4 continues a wait in C (lua_yieldk) and ends it
** through a to-be-closed slot; Lua 5.1 has neither, so a small Lua driver
** (drive51.lua) loops around the same steps.
*/
#ifndef LQSEM_H
#define LQSEM_H

#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE   /* pipe2 */
#endif

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/eventfd.h>
#endif

#if defined(__GLIBC__) || defined(__APPLE__) || defined(__FreeBSD__)
#include <dlfcn.h>
#define LQSEM_HAVE_NODELETE 1
#endif

#include "lua.h"
#include "lauxlib.h"

#include "qsem.h"

/* The one symbol the module exports (the build hides the rest). */
#if defined(__GNUC__)
#define LQSEM_API LUALIB_API __attribute__((visibility("default")))
#else
#define LQSEM_API LUALIB_API
#endif


/* {======================================================================
** Compatibility: Lua 5.1 (LuaJIT 2.1), 5.3, 5.4
** ======================================================================= */

#if LUA_VERSION_NUM < 501 || LUA_VERSION_NUM == 502 || LUA_VERSION_NUM > 504
#error "qsem needs Lua 5.1 (LuaJIT 2.1), 5.3 or 5.4"
#endif

/* Whether a coroutine wait continues in C and ends by a to-be-closed slot. */
#define LQSEM_TBC (LUA_VERSION_NUM >= 504)

#if LUA_VERSION_NUM < 504
#define luaL_pushfail(L)  lua_pushnil(L)
#define lua_newuserdatauv(L, sz, nuv)  lua_newuserdata(L, sz)
#endif

#if LUA_VERSION_NUM < 503
#define LUA_LOADED_TABLE "_LOADED"

static int lqsem_getfield (lua_State *L, int idx, const char *k) {
  lua_getfield(L, idx, k);
  return lua_type(L, -1);
}
#define lua_getfield(L, idx, k)  lqsem_getfield(L, idx, k)

static int lqsem_rawget (lua_State *L, int idx) {
  lua_rawget(L, idx);
  return lua_type(L, -1);
}
#define lua_rawget(L, idx)  lqsem_rawget(L, idx)

static int lqsem_rawgeti (lua_State *L, int idx, int i) {
  lua_rawgeti(L, idx, i);
  return lua_type(L, -1);
}
#define lua_rawgeti(L, idx, i)  lqsem_rawgeti(L, idx, i)

static int lqsem_rawgetp (lua_State *L, int idx, const void *p) {
  idx = idx < 0 && idx > LUA_REGISTRYINDEX ? lua_gettop(L) + idx + 1 : idx;
  lua_pushlightuserdata(L, (void *)p);
  return lqsem_rawget(L, idx);
}
#define lua_rawgetp(L, idx, p)  lqsem_rawgetp(L, idx, p)

static void lua_rawsetp (lua_State *L, int idx, const void *p) {
  idx = idx < 0 && idx > LUA_REGISTRYINDEX ? lua_gettop(L) + idx + 1 : idx;
  lua_pushlightuserdata(L, (void *)p);
  lua_insert(L, -2);
  lua_rawset(L, idx);
}

#define luaL_len(L, idx)  ((lua_Integer)lua_objlen(L, idx))
#define lua_rawlen(L, idx)  lua_objlen(L, idx)

/* The value at 'idx' as text, pushed (only for messages: no '__tostring'). */
static const char *luaL_tolstring (lua_State *L, int idx, size_t *len) {
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: case LUA_TNUMBER:
      lua_pushvalue(L, idx);
      return lua_tolstring(L, -1, len);
    default:
      return lua_pushfstring(L, "%s: %p", luaL_typename(L, idx), lua_topointer(L, idx));
  }
}

/*
** The one user value of a userdata: Lua 5.1 keeps it in a table that is the
** userdata's environment.  The first call makes the table and marks it as
** this module's at [2] (a new userdata has its creator's environment,
** which must not be written to); later calls reuse it, so that a wait
** kept and restarted for a coroutine's next handoff allocates nothing.
*/
static const char lqsem_uservalue_mark = 0;

static void lua_setiuservalue (lua_State *L, int idx, int n) {
  (void)n;
  idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
  lua_getfenv(L, idx);
  lua_rawgeti(L, -1, 2);
  int ours = lua_touserdata(L, -1) == (void *)&lqsem_uservalue_mark;
  lua_pop(L, 1);
  if (!ours) {
    lua_pop(L, 1);
    lua_createtable(L, 2, 0);
    lua_pushlightuserdata(L, (void *)&lqsem_uservalue_mark);
    lua_rawseti(L, -2, 2);
    lua_pushvalue(L, -1);
    lua_setfenv(L, idx);
  }
  lua_insert(L, -2);
  lua_rawseti(L, -2, 1);   /* fenv[1] = the value */
  lua_pop(L, 1);
}

static int lua_getiuservalue (lua_State *L, int idx, int n) {
  (void)n;
  lua_getfenv(L, idx);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_pushnil(L);
    return LUA_TNIL;
  }
  lua_rawgeti(L, -1, 1);
  lua_remove(L, -2);
  return lua_type(L, -1);
}

#elif LUA_VERSION_NUM == 503
#define lua_setiuservalue(L, idx, n)  ((void)(n), lua_setuservalue(L, idx))
#define lua_getiuservalue(L, idx, n)  ((void)(n), lua_getuservalue(L, idx))
#endif

/*
** Without to-be-closed variables (Lua 5.1 and 5.3) the methods acquire
** and hold (and, under LuaJIT, try_acquire and release) are Lua functions of drive51.lua that call the C ones through
** an upvalue named 'qsem_c_method'.  An argument error raised there names that upvalue, at
** the driver's line, and counts 's' as argument #1: name the user's call
** instead, so that messages read as under Lua 5.4.  The checks below are
** the ones these methods use (lqsem_checkinteger too); everything else
** keeps lauxlib's.
*/
#if !LQSEM_TBC
#define LQSEM_DRIVEN "qsem_c_method"

static int lqsem_hold (lua_State *L);
static int lqsem_try_acquire (lua_State *L);
static int lqsem_release (lua_State *L);

/* The name of the method whose C function is 'f' (see drive51.lua). */
static const char *lqsem_drivenname (lua_CFunction f) {
  if (f == lqsem_hold) return "hold";
  if (f == lqsem_try_acquire) return "try_acquire";
  if (f == lqsem_release) return "release";
  return "acquire";
}

static int lqsem_argerror (lua_State *L, int arg, const char *msg) {
  lua_Debug ar;
  if (!lua_getstack(L, 0, &ar) || !lua_getinfo(L, "nf", &ar) ||
      ar.name == NULL || strcmp(ar.name, LQSEM_DRIVEN) != 0)
    return (luaL_argerror)(L, arg, msg);
  const char *name = lqsem_drivenname(lua_tocfunction(L, -1));
  /* the driver's caller: s:acquire(...) is a method call, as is a tail
     call (the methods' FFI paths tail-call the driver), which leaves no
     trace of how it was made; one made from C, as pcall(s.acquire, s, n)
     makes it, is a plain call */
  lua_Debug up;
  if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "n", &ar) && ar.name != NULL &&
      strcmp(ar.namewhat, "method") != 0)
    name = ar.name;
  else if (ar.name == NULL && lua_getstack(L, 2, &up) && lua_getinfo(L, "S", &up) &&
           strcmp(up.what, "C") == 0)
    ;
  else
    arg--;
  luaL_where(L, 2);
  if (arg == 0)   /* as lauxlib words it */
    lua_pushfstring(L, "calling '%s' on bad self (%s)", name, msg);
  else
    lua_pushfstring(L, "bad argument #%d to '%s' (%s)", arg, name, msg);
  lua_concat(L, 2);
  return lua_error(L);
}
#define luaL_argerror(L, arg, msg)  lqsem_argerror(L, arg, msg)

/* The level of the user's call, for luaL_where: the driver's caller when
   the C method runs through it, else the C function's caller. */
static int lqsem_userlevel (lua_State *L) {
  lua_Debug ar;
  if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar) && ar.name != NULL &&
      strcmp(ar.name, LQSEM_DRIVEN) == 0)
    return 2;
  return 1;
}

static int lqsem_typeerror (lua_State *L, int arg, const char *tname);

static lua_Number lqsem_checknumber (lua_State *L, int arg) {
  lua_Number d = lua_tonumber(L, arg);
  if (d == 0 && !lua_isnumber(L, arg))
    lqsem_typeerror(L, arg, "number");
  return d;
}
#define luaL_checknumber(L, arg)  lqsem_checknumber(L, arg)
#else
#define lqsem_userlevel(L)  1
#endif

/*
** An integer argument, or an error: Lua 5.1 would truncate 1.5 to 1, and a
** count must never be rounded.
*/
static lua_Integer lqsem_checkinteger (lua_State *L, int arg) {
#if LUA_VERSION_NUM < 503
  lua_Number x = luaL_checknumber(L, arg);
  lua_Integer i = (lua_Integer)x;
  if ((lua_Number)i != x || x >= 0x1p63 || x < -0x1p63)
    luaL_argerror(L, arg, "number has no integer representation");
  return i;
#elif !LQSEM_TBC
  int isint;   /* luaL_checkinteger, with this file's luaL_argerror */
  lua_Integer i = lua_tointegerx(L, arg, &isint);
  if (!isint) {
    if (lua_isnumber(L, arg))
      luaL_argerror(L, arg, "number has no integer representation");
    else
      lqsem_typeerror(L, arg, "number");
  }
  return i;
#else
  return luaL_checkinteger(L, arg);
#endif
}

/* The integer at 'idx'; '*isint' says whether it is one (a number with an integral value). */
static lua_Integer lqsem_tointegerx (lua_State *L, int idx, int *isint) {
#if LUA_VERSION_NUM < 503
  lua_Number x = lua_tonumber(L, idx);
  lua_Integer i = (lua_Integer)x;
  /* a numeric string counts, as lua_tointegerx takes one */
  *isint = lua_isnumber(L, idx) && (lua_Number)i == x && x < 0x1p63 && x >= -0x1p63;
  return *isint ? i : 0;
#else
  return lua_tointegerx(L, idx, isint);
#endif
}

/*
** The largest count a Lua number holds exactly: QSEM_VALUE_MAX, or, for Lua
** 5.1 whose numbers are doubles, the largest double below it ((double)
** QSEM_VALUE_MAX rounds up, to 2^62).  qsem.VALUE_MAX, and the default max.
*/
#if LUA_VERSION_NUM < 503
#define LQSEM_VALUE_MAX ((INT64_C(1) << 62) - 512)
#else
#define LQSEM_VALUE_MAX QSEM_VALUE_MAX
#endif

/*
** Push a count of the core: an integer, or, for Lua 5.1 whose numbers are
** doubles, a double no larger than LQSEM_VALUE_MAX.
*/
static void lqsem_pushcount (lua_State *L, int64_t v) {
#if LUA_VERSION_NUM < 503
  lua_pushnumber(L, (lua_Number)(v > LQSEM_VALUE_MAX ? LQSEM_VALUE_MAX : v));
#else
  lua_pushinteger(L, (lua_Integer)v);
#endif
}

/* Push an integer formatted as text (%I is Lua 5.3+). */
static void lqsem_pushint (lua_State *L, int64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%lld", (long long)v);
  lua_pushstring(L, buf);
}

/* }====================================================================== */


/*
** Metatable names: each metatable is registered under its name
** (luaL_newmetatable, which also sets '__name'), for code that looks it up
** that way and for messages.
*/
static const char LQSEM_SEMAPHORE[] = "qsem.Semaphore";
static const char LQSEM_GUARD[]     = "qsem.Guard";
static const char LQSEM_WAITER[]    = "qsem.Waiter";
static const char LQSEM_HUB[]       = "qsem.Hub";

/* The registry key of the module's context (below): its address. */
static const char LQSEM_CTXKEY[]    = "qsem.context";

/*
** The module's context: one table per Lua state, the first upvalue of
** every C function that the module hands to Lua (the luaL_Reg tables, and
** pushfunc() for the others), so that a method finds its metatables and
** the state's tables at an array index of an upvalue, not by hashing a
** key into the registry on every call.  The second upvalue is a userdata
** (lqsem_Ctx) with what the hottest paths need as C pointers: the
** metatables' addresses, for the type checks, and the hub.  The registry
** keeps the table (LQSEM_CTXKEY), and the table the userdata, so that
** loading the module again in the same state shares them, and with them
** the metatables that earlier objects carry.
*/
enum {
  CTX_SEMAPHORE = 1,   /* the metatable of semaphores */
  CTX_GUARD,           /* of guards (no '__gc': see lqsem_Holds) */
  CTX_WAITER,          /* of waits */
  CTX_HUB,             /* the state's hub userdata, once made (gethub) */
  CTX_WAITS,           /* weak values: lightuserdata -> live waiter */
  CTX_HOSTED,          /* weak keys: coroutines of a generic host */
  CTX_PARKED,          /* strong: parked coroutine -> its waiter */
  CTX_CQPARKED,        /* weak keys: the same, under cqueues */
  CTX_SPARE,           /* weak keys: coroutine -> its finished wait */
  CTX_CQWAIT,          /* the cqueues glue's wait function */
  CTX_CQWAKE,          /* the glue's function that signals one wait */
  CTX_CQLEAVE,         /* the glue's function for a wait that stops polling */
  CTX_CQPREP,          /* the glue's function that makes what a wait needs */
  CTX_CQRUN,           /* cqueues.running, once the program loaded it */
  CTX_CSTATE,          /* the lqsem_Ctx userdata (below), kept alive here */
  CTX_HOLDS,           /* the lqsem_Holds userdata, once a guard was made */
  CTX_GUARDS,          /* weak values: slot + 1 -> the guard that owns it */
  CTX_SWEEPMT,         /* the metatable of the collector's sentinel (holds_sweep) */
  CTX_CDATANAME,       /* LuaJIT: drive51.lua's function naming a cdata guard */
  CTX_BYADDR,          /* LuaJIT: strong: a generic wait's address -> its parked coroutine */
  CTX_READY,           /* LuaJIT: drive51.lua's qsem.ready */
  CTX_CQBYADDR,        /* LuaJIT: weak values: a cqueues wait's address -> the wait */
  CTX_N = CTX_CQBYADDR
};

/*
** The tokens of the guards of a state (lqsem.c, "Guards").  A guard is a
** userdata without '__gc', so that making one costs the collector no
** finalizer; what it holds is a slot here.  A guard nobody released is
** found by a sentinel that the collector finalizes once per cycle: its
** guard's entry in CTX_GUARDS (weak values) is gone, and the sentinel
** gives its tokens back.  The slots live in Lua memory (a userdata kept at
** CTX_HOLDS, replaced by a bigger one when full), so they stay valid in
** any finalizer, even during lua_close, which gives back whatever is
** still held (ctx_close).
*/
typedef struct lqsem_Hold {
  // a handle of its own, so the guard outlives the semaphore's userdata;
  // NULL while reserved by a guard that has not taken its tokens yet
  qsem_t *s;
  // the tokens it gives back
  int64_t n;
  // bumped each time the slot is freed: a guard of an earlier use of the
  // slot no longer matches, and holds nothing
  uint32_t gen;
  // LQSEM_HOLD_USED, or the next free slot + 1 (0: none)
  uint32_t next;
} lqsem_Hold;

#define LQSEM_HOLD_USED UINT32_MAX

typedef struct lqsem_Holds {
  // slots in 'rec'
  uint32_t cap;
  // the first free slot + 1 (0: none)
  uint32_t free;
  lqsem_Hold rec[];
} lqsem_Holds;

typedef struct lqsem_Ctx {
  // the addresses of the metatables at CTX_SEMAPHORE .. CTX_WAITER (Lua's
  // collector never moves an object, and the context keeps them alive)
  const void *mt[CTX_WAITER + 1];
  // the state's hub, once made (gethub); kept alive at CTX_HUB
  struct lqsem_Hub *hub;
  // the ledger of guards, once a guard was made; kept alive at CTX_HOLDS
  lqsem_Holds *holds;
  // a sentinel is armed: the collector will call holds_sweep
  int armed;
  // LuaJIT: drive51.lua parks and drains waits through the FFI, and finds
  // a generic wait's coroutine at CTX_BYADDR and a cqueues wait at
  // CTX_CQBYADDR, which parking keeps
  int ffi;
} lqsem_Ctx;

/* The context, as seen from a C function of the module. */
#define CTX   lua_upvalueindex(1)
#define CTXC  lua_upvalueindex(2)
#define ctx_get(L, slot)  lua_rawgeti(L, CTX, slot)   /* pushes; returns its type */
#define ctx_set(L, slot)  lua_rawseti(L, CTX, slot)   /* pops the value */
#define getctx(L)  ((lqsem_Ctx *)lua_touserdata(L, CTXC))

/* Push 'f' as a function of the module: a closure over the context. */
static void pushfunc (lua_State *L, lua_CFunction f) {
  lua_pushvalue(L, CTX);
  lua_pushvalue(L, CTXC);
  lua_pushcclosure(L, f, 2);
}

/*
** As Lua 5.4's luaL_typeerror: the type got is named by its '__name' (or,
** for LuaJIT cdata, by drive51.lua, whose guards are cdata).
*/
static int lqsem_typeerror (lua_State *L, int arg, const char *tname) {
  const char *got = luaL_typename(L, arg);
  if (luaL_getmetafield(L, arg, "__name")) {   /* pushes nothing if absent */
    if (lua_type(L, -1) == LUA_TSTRING)
      got = lua_tostring(L, -1);
  }
#if !LQSEM_TBC
  else if (strcmp(got, "cdata") == 0 &&
           lua_rawgetp(L, LUA_REGISTRYINDEX, LQSEM_CTXKEY) == LUA_TTABLE &&
           lua_rawgeti(L, -1, CTX_CDATANAME) == LUA_TFUNCTION) {   /* an error path: no hurry */
    lua_pushvalue(L, arg);
    if (lua_pcall(L, 1, 1, 0) == 0 && lua_type(L, -1) == LUA_TSTRING)
      got = lua_tostring(L, -1);   /* stays on the stack until the error */
  }
#endif
  return luaL_argerror(L, arg, lua_pushfstring(L, "%s expected, got %s", tname, got));
}

/*
** The userdata at 'idx' if its metatable is the context's at 'slot', else
** NULL.  Compared by address: fewer calls than fetching the metatable and
** lua_rawequal, on every method call.  'c' is the context (getctx), which
** a hot path fetches once and passes on.
*/
static void *testudata (lua_State *L, const lqsem_Ctx *c, int idx, int slot) {
  void *p = lua_touserdata(L, idx);
  if (p == NULL || !lua_getmetatable(L, idx))
    return NULL;
  const void *mt = lua_topointer(L, -1);
  lua_pop(L, 1);
  return mt == c->mt[slot] ? p : NULL;
}

/* The same, or an argument error that names the expected type 'tname'. */
static void *checkudata (lua_State *L, const lqsem_Ctx *c, int idx, int slot,
                         const char *tname) {
  void *p = testudata(L, c, idx, slot);
  if (p == NULL)
    lqsem_typeerror(L, idx, tname);
  return p;
}

/* Give the value at the top of the stack the context's metatable at 'slot'. */
static void setmeta (lua_State *L, int slot) {
  ctx_get(L, slot);
  lua_setmetatable(L, -2);
}

/* A wait ended from outside (qsem.cancel, or the host ended the waiter). */
#define LQSEM_ECANCELLED (-1)

/* How a wait that cannot be served at once proceeds. */
enum { LQSEM_BLOCK, LQSEM_GENERIC, LQSEM_CQUEUES };


typedef struct lqsem_Wait lqsem_Wait;

typedef struct lqsem_Hub {
  // guards everything below; taken by notify under the semaphore's lock
  pthread_mutex_t mu;
  // poll this end (an eventfd has only one)
  int rfd;
  // notify writes this end
  int wfd;
  // a byte or count is pending on the fd, not yet drained
  int armed;
  // resolved waits, oldest first
  lqsem_Wait *head, *tail;
  // how many of them there are of each kind (LQSEM_GENERIC, LQSEM_CQUEUES):
  // written under 'mu', read without it as a hint (hub_drain)
  atomic_int nqueued[3];
  // waits were queued without arming the fd: the releasing call of this
  // state wakes them (see lqsem_releasing)
  int direct;
  // the generic host drains (qsem.ready) before it polls (qsem.drains):
  // a release of this state then leaves its generic waits on the list
  // without arming the fd
  int drains;
} lqsem_Hub;

struct lqsem_Wait {
  // NULL once finished (the tokens were claimed or given back)
  qsem_waiter_t *w;
  // once finished, the idle waiter kept for the coroutine's next wait on
  // the same semaphore and count (see coop_park); freed by '__gc'
  qsem_waiter_t *spare;
  // the semaphore, pinned by 'w' (not a handle: the wait must not keep it open)
  qsem_t *s;
  // tokens asked for
  int64_t n;
  // the hub of the state that created the wait; it outlives every wait
  lqsem_Hub *hub;
  // absolute, on qsem_now_ns(); QSEM_FOREVER for none
  int64_t deadline;
  // LQSEM_GENERIC or LQSEM_CQUEUES
  int kind;
  // the acquire returns a guard (hold) rather than true
  int hold;
  // set by notify, last, with release order: the waiter is resolved and
  // notify touches this wait no more (read with acquire order, no lock)
  atomic_int notified;
  // on the hub's list (under hub->mu)
  int queued;
  // ended by qsem.cancel(): the acquire returns fail, "cancelled"
  int cancelled;
  // under cqueues, the glue's wait may be polling for it: ending the wait
  // must tell the glue (cq_leave); Lua 5.1 cannot tell when it returned
  int polling;
  // the coroutine's entry in CTX_SPARE is this wait (keepspare), so a
  // wait that restarts it need not set it again
  int kept;
  lqsem_Wait *prev, *next;
};

/*
** LuaJIT: what a release through the FFI (lqsem.c, lqsem_ffi_release_here)
** tells drive51.lua of the cqueues waits it resolved, which drive51.lua
** signals once it can ('take'): 'n' is 0 for none, 1 for one, taken off
** the hub at 'addr' (its address), 2 for that one and more still listed;
** before 'take', the call leaves them all listed and sets 'n' to -1: the
** C function 'wake' (wake_direct) signals them.
*/
typedef struct lqsem_Woken {
  int n;
  int take;
  double addr;
} lqsem_Woken;

typedef struct lqsem_Guard {
  // its slot in the state's lqsem_Holds; UINT32_MAX for none
  uint32_t slot;
  // the slot's 'gen' when the guard took it: another means released
  uint32_t gen;
} lqsem_Guard;


/* lqsem.c */
static int pushfail (lua_State *L, const char *what);
static int failresult (lua_State *L, int err);

/* lqsem_hub.c */
static void newweaktable (lua_State *L, const char *mode);

static lqsem_Hub *gethub (lua_State *L);
static void hub_enqueue (lqsem_Hub *h, lqsem_Wait *wt);
static void hub_unlink (lqsem_Hub *h, lqsem_Wait *wt);
static void hub_requeue (lqsem_Hub *h, lqsem_Wait *wt);
static void hub_arm (lqsem_Hub *h);
static void hub_drain (lua_State *L, lqsem_Hub *h, int kind, int threads, int into);
static int release_direct (lua_State *L, qsem_t *s, int64_t n);

/* lqsem_wait.c */
static void wake_direct (lua_State *L, lqsem_Hub *h);

#endif /* LQSEM_H */
