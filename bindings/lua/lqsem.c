/* SPDX-License-Identifier: MIT */
/*
** lqsem.c: the Lua front end of qsem (`local qsem = require "qsem"`), for
** Lua 5.4, 5.3 and 5.1/LuaJIT 2.1.  This file is the module and its
** objects; it includes the per-state hub (lqsem_hub.c) and the waits
** (lqsem_wait.c), so the module is one translation unit.  lqsem.h says
** what each part does.
**
** A semaphore is a userdata holding one handle (qsem_ref) on the native
** object; a guard holds a handle of its own and the tokens it gives back.
** Semaphores are shared between Lua states, in one process, by name.
*/

#include "lqsem.h"


/* {======================================================================
** Arguments and results
** ======================================================================= */

/* A count at 'arg' (default 1): 0 .. QSEM_VALUE_MAX (docs/contract.md, "Counts"). */
static int64_t optcount (lua_State *L, int arg) {
  lua_Integer n = lua_isnoneornil(L, arg) ? 1 : lqsem_checkinteger(L, arg);
  luaL_argcheck(L, n >= 0, arg, "negative count");
  luaL_argcheck(L, n <= QSEM_VALUE_MAX, arg, "count out of range");
  return (int64_t)n;
}


/*
** A timeout in seconds at 'arg' as nanoseconds for qsem_deadline_after();
** -1 (forever) for none: nil, math.huge, or a finite timeout too long for
** the clock.  Lua's convention, written here and nowhere else: a negative
** timeout is a bad argument, not "no wait", because a negative duration is
** most likely a bug in the caller's arithmetic (docs/lua.md).
*/
static int64_t opttimeout (lua_State *L, int arg) {
  if (lua_isnoneornil(L, arg))
    return -1;
  lua_Number t = luaL_checknumber(L, arg);
  luaL_argcheck(L, !(t < 0), arg, "negative timeout");
  int64_t ns;
  luaL_argcheck(L, qsem_timeout_from_sec((double)t, &ns) == 0, arg, "timeout is NaN");
  return ns;
}


/* An expected failure: fail plus a stable message (docs/contract.md, "Lua"). */
static int pushfail (lua_State *L, const char *what) {
  luaL_pushfail(L);
  lua_pushstring(L, what);
  return 2;
}


/* A result the core does not give here: a bug, reported as an error. */
static int unexpected (lua_State *L, int err) {
  return luaL_error(L, "qsem: unexpected result %d (%s)", err, qsem_strerror(err));
}


/* The result of an acquire that did not get its tokens. */
static int failresult (lua_State *L, int err) {
  switch (err) {
    case ETIMEDOUT: case EAGAIN: return pushfail(L, "timeout");
    case ECANCELED: return pushfail(L, "closed");
    case LQSEM_ECANCELLED: return pushfail(L, "cancelled");
    case ENOMEM: return luaL_error(L, "not enough memory");
    default: return unexpected(L, err);
  }
}

/* }====================================================================== */


/* {======================================================================
** Semaphore handles
** ======================================================================= */

typedef struct lqsem_Sem {
  // this state's handle on the native object; NULL once dropped
  qsem_t *s;
} lqsem_Sem;

#define tosem(L)  ((lqsem_Sem *)luaL_checkudata(L, 1, LQSEM_SEMAPHORE))


/* The native semaphore of the handle at 1; raises if it was dropped. */
static qsem_t *checksem (lua_State *L) {
  lqsem_Sem *h = tosem(L);
  if (h->s == NULL)
    luaL_error(L, "attempt to use a dropped semaphore");
  return h->s;
}


/* A request above the maximum could never be met: that is a bad argument. */
static void checkfits (lua_State *L, qsem_t *s, int64_t n, int arg) {
  if (n > qsem_max(s)) {
    lua_pushliteral(L, "count exceeds the maximum (");
    lqsem_pushint(L, qsem_max(s));
    lua_pushliteral(L, ")");
    lua_concat(L, 3);
    luaL_argerror(L, arg, lua_tostring(L, -1));
  }
}


/*
** Push a new handle owning the reference 's'.  The userdata is made
** before the caller takes the reference when it can be (see lqsem_new),
** so a memory error leaves nothing behind.
*/
static lqsem_Sem *newsem (lua_State *L) {
  lqsem_Sem *h = (lqsem_Sem *)lua_newuserdatauv(L, sizeof *h, 0);
  h->s = NULL;   /* dropped until the caller fills it in */
  luaL_setmetatable(L, LQSEM_SEMAPHORE);
  return h;
}


static int optbool (lua_State *L, int idx, const char *name) {
  if (!lua_isboolean(L, idx)) {
    lua_pushfstring(L, "option '%s' must be a boolean", name);
    return luaL_argerror(L, 2, lua_tostring(L, -1));
  }
  return lua_toboolean(L, idx);
}


/*
** qsem.new(initial [, {max = m, fair = b}]).  Unknown options are errors,
** so that a misspelt 'fair' does not quietly give the default mode.
*/
static int lqsem_new (lua_State *L) {
  lua_Integer initial = lqsem_checkinteger(L, 1);
  luaL_argcheck(L, initial >= 0, 1, "negative count");
  luaL_argcheck(L, initial <= QSEM_VALUE_MAX, 1, "count out of range");
  int64_t max = QSEM_VALUE_MAX;
  unsigned flags = 0;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
      const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
      if (k != NULL && strcmp(k, "max") == 0) {
        int isint;
        lua_Integer m = lqsem_tointegerx(L, -1, &isint);
        luaL_argcheck(L, isint, 2, "option 'max' must be an integer");
        luaL_argcheck(L, m >= 0 && m <= QSEM_VALUE_MAX, 2, "option 'max' out of range");
        luaL_argcheck(L, m >= initial, 2, "option 'max' is below the initial count");
        max = (int64_t)m;
      }
      else if (k != NULL && strcmp(k, "fair") == 0) {
        if (optbool(L, -1, "fair"))
          flags |= QSEM_FIFO;
      }
      else {
        lua_pushfstring(L, "unknown option '%s'", luaL_tolstring(L, -2, NULL));
        return luaL_argerror(L, 2, lua_tostring(L, -1));
      }
      lua_pop(L, 1);
    }
  }
  lqsem_Sem *h = newsem(L);
  h->s = qsem_new(initial, max, flags);
  if (h->s == NULL)
    return luaL_error(L, "cannot create a semaphore: %s", strerror(errno));
  return 1;
}


/*
** Drop this state's handle: '__gc', '__close' and nothing else.  Other
** handles (other states, guards) keep the semaphore open; dropping the
** last one closes it (qsem_unref).
*/
static int lqsem_drop (lua_State *L) {
  lqsem_Sem *h = tosem(L);
  qsem_t *s = h->s;
  h->s = NULL;   /* wipe the pointer before anything can observe it dangling */
  qsem_unref(s);
  return 0;
}


static int lqsem_tostring (lua_State *L) {
  lqsem_Sem *h = tosem(L);
  if (h->s == NULL)
    lua_pushfstring(L, "qsem.Semaphore (dropped): %p", (void *)h);
  else if (qsem_is_closed(h->s))
    lua_pushfstring(L, "qsem.Semaphore (closed): %p", (void *)h);
  else {
    char buf[48];
    snprintf(buf, sizeof buf, "%lld/%lld", (long long)qsem_available(h->s),
             (long long)qsem_max(h->s));
    lua_pushfstring(L, "qsem.Semaphore (%s): %p", buf, (void *)h);
  }
  return 1;
}


static int lqsem_try_acquire (lua_State *L) {
  qsem_t *s = checksem(L);
  int64_t n = optcount(L, 2);
  checkfits(L, s, n, 2);
  int r = qsem_try_acquire(s, n);
  if (r != 0)
    return failresult(L, r);
  lua_pushboolean(L, 1);
  return 1;
}


static int lqsem_release (lua_State *L) {
  qsem_t *s = checksem(L);
  int64_t n = optcount(L, 2);
  int r = release_direct(L, s, n);
  if (r == EOVERFLOW) {
    lua_pushliteral(L, "count would pass the maximum (");
    lqsem_pushint(L, qsem_max(s));
    lua_pushliteral(L, ")");
    lua_concat(L, 3);
    return luaL_argerror(L, 2, lua_tostring(L, -1));
  }
  if (r != 0)
    return unexpected(L, r);
  return 0;
}


static int lqsem_available (lua_State *L) {
  lqsem_pushcount(L, qsem_available(checksem(L)));
  return 1;
}


static int lqsem_waiting (lua_State *L) {
  lqsem_pushcount(L, qsem_waiting(checksem(L)));
  return 1;
}


static int lqsem_max (lua_State *L) {
  lqsem_pushcount(L, qsem_max(checksem(L)));
  return 1;
}


static int lqsem_close (lua_State *L) {
  (void)qsem_close(checksem(L));   /* always 0: closing twice is harmless */
  return 0;
}


static int lqsem_is_closed (lua_State *L) {
  lua_pushboolean(L, qsem_is_closed(checksem(L)));
  return 1;
}

/* }====================================================================== */


/* {======================================================================
** Guards: `local g <close> = s:hold(n [, timeout])`
** ======================================================================= */

#define toguard(L)  ((lqsem_Guard *)luaL_checkudata(L, 1, LQSEM_GUARD))


/* Push a guard that holds nothing yet; acquire fills it in once the tokens are taken. */
static void newguard (lua_State *L) {
  lqsem_Guard *g = (lqsem_Guard *)lua_newuserdatauv(L, sizeof *g, 0);
  g->s = NULL;
  g->n = 0;
  luaL_setmetatable(L, LQSEM_GUARD);
}


/*
** Give the tokens back once; 0 or the result of qsem_release.  'L' is
** NULL in a finalizer, which leaves wake-ups to the fd.
*/
static int guard_release (lua_State *L, lqsem_Guard *g) {
  qsem_t *s = g->s;
  if (s == NULL)
    return 0;
  g->s = NULL;   /* a failed release must not be retried by __gc */
  int r = L != NULL ? release_direct(L, s, g->n) : qsem_release(s, g->n);
  qsem_unref(s);
  return r;
}


static int raise_release (lua_State *L, int r) {
  if (r == EOVERFLOW)
    return luaL_error(L, "guard release would pass the semaphore's maximum");
  return unexpected(L, r);
}


/* 'release' and '__close': give the tokens back now. */
static int lqsem_guard_release (lua_State *L) {
  int r = guard_release(L, toguard(L));
  if (r != 0)
    return raise_release(L, r);
  return 0;
}


/* '__gc': a guard nobody closed still gives its tokens back. */
static int lqsem_guard_gc (lua_State *L) {
  (void)guard_release(NULL, toguard(L));   /* a finalizer has nobody to tell */
  return 0;
}


static int lqsem_guard_count (lua_State *L) {
  lqsem_Guard *g = toguard(L);
  lqsem_pushcount(L, g->s ? g->n : 0);
  return 1;
}


static int lqsem_guard_tostring (lua_State *L) {
  lqsem_Guard *g = toguard(L);
  if (g->s == NULL)
    lua_pushfstring(L, "qsem.Guard (released): %p", (void *)g);
  else
  {
    lqsem_pushint(L, g->n);
    lua_pushfstring(L, "qsem.Guard (%s held): %p", lua_tostring(L, -1), (void *)g);
  }
  return 1;
}

/* }====================================================================== */




#include "lqsem_hub.c"
#include "lqsem_wait.c"


/* {======================================================================
** Sharing across Lua states: a process-wide table of published names
** ======================================================================= */

/*
** One list for the whole process: every Lua state that loads this module
** in this process shares the library's static data.  Each entry owns a
** handle, so a published semaphore outlives every state that used it
** until it is unpublished; each state's userdata owns its own handle, so
** the last holder frees it in whatever order the states close.
*/
typedef struct lqsem_Name {
  struct lqsem_Name *next;
  qsem_t *s;
  size_t len;
  char name[];
} lqsem_Name;

static pthread_mutex_t lqsem_names_mu = PTHREAD_MUTEX_INITIALIZER;
static lqsem_Name *lqsem_names = NULL;


/* Under lqsem_names_mu: the link that points at 'name', or at the NULL at the end. */
static lqsem_Name **names_find (const char *name, size_t len) {
  lqsem_Name **p = &lqsem_names;
  while (*p != NULL && !((*p)->len == len && memcmp((*p)->name, name, len) == 0))
    p = &(*p)->next;
  return p;
}


/* qsem.publish(name, s): true, or fail plus "exists". */
static int lqsem_publish (lua_State *L) {
  size_t len;
  const char *name = luaL_checklstring(L, 1, &len);
  lqsem_Sem *h = (lqsem_Sem *)luaL_checkudata(L, 2, LQSEM_SEMAPHORE);
  luaL_argcheck(L, h->s != NULL, 2, "dropped semaphore");
  lqsem_Name *e = (lqsem_Name *)malloc(sizeof *e + len + 1);
  if (e == NULL)
    return luaL_error(L, "not enough memory");
  memcpy(e->name, name, len + 1);
  e->len = len;
  pthread_mutex_lock(&lqsem_names_mu);
  lqsem_Name **p = names_find(name, len);
  int taken = *p != NULL;
  if (!taken) {
    e->s = qsem_ref(h->s);
    e->next = NULL;
    *p = e;
  }
  pthread_mutex_unlock(&lqsem_names_mu);
  if (taken) {
    free(e);
    return pushfail(L, "exists");
  }
  lua_pushboolean(L, 1);
  return 1;
}


/* qsem.open(name): a new handle on a published semaphore, or fail plus "not found". */
static int lqsem_open (lua_State *L) {
  size_t len;
  const char *name = luaL_checklstring(L, 1, &len);
  lqsem_Sem *h = newsem(L);   /* before the reference, which cannot fail */
  pthread_mutex_lock(&lqsem_names_mu);
  lqsem_Name *e = *names_find(name, len);
  if (e != NULL)
    h->s = qsem_ref(e->s);
  pthread_mutex_unlock(&lqsem_names_mu);
  if (h->s == NULL)
    return pushfail(L, "not found");
  return 1;
}


/* qsem.unpublish(name): drop the name's handle; true, or fail plus "not found". */
static int lqsem_unpublish (lua_State *L) {
  size_t len;
  const char *name = luaL_checklstring(L, 1, &len);
  pthread_mutex_lock(&lqsem_names_mu);
  lqsem_Name **p = names_find(name, len);
  lqsem_Name *e = *p;
  if (e != NULL)
    *p = e->next;
  pthread_mutex_unlock(&lqsem_names_mu);
  if (e == NULL)
    return pushfail(L, "not found");
  qsem_unref(e->s);   /* outside the mutex: it may close and wake waiters */
  free(e);
  lua_pushboolean(L, 1);
  return 1;
}

/* }====================================================================== */


/* {======================================================================
** The module
** ======================================================================= */

static const luaL_Reg lqsem_meths[] = {
  {"acquire", lqsem_acquire},
  {"try_acquire", lqsem_try_acquire},
  {"hold", lqsem_hold},
  {"release", lqsem_release},
  {"available", lqsem_available},
  {"waiting", lqsem_waiting},
  {"max", lqsem_max},
  {"close", lqsem_close},
  {"is_closed", lqsem_is_closed},
  {NULL, NULL}
};

static const luaL_Reg lqsem_metameth[] = {
  {"__gc", lqsem_drop},
  {"__close", lqsem_drop},
  {"__tostring", lqsem_tostring},
  {NULL, NULL}
};

static const luaL_Reg lqsem_guard_meths[] = {
  {"release", lqsem_guard_release},
  {"count", lqsem_guard_count},
  {NULL, NULL}
};

static const luaL_Reg lqsem_guard_metameth[] = {
  {"__gc", lqsem_guard_gc},
  {"__close", lqsem_guard_release},
  {"__tostring", lqsem_guard_tostring},
  {NULL, NULL}
};

static const luaL_Reg lqsem_wait_meths[] = {
  {"timeout", lqsem_wait_timeout},
  {"pollfd", lqsem_wait_pollfd},
  {"events", lqsem_wait_events},
  {NULL, NULL}
};

static const luaL_Reg lqsem_wait_metameth[] = {
  {"__gc", lqsem_wait_gc},
  {"__close", lqsem_wait_finish},
  {"__tostring", lqsem_wait_tostring},
  {NULL, NULL}
};

static const luaL_Reg lqsem_funcs[] = {
  {"new", lqsem_new},
  {"publish", lqsem_publish},
  {"open", lqsem_open},
  {"unpublish", lqsem_unpublish},
  {"hosted", lqsem_hosted},
  {"cancel", lqsem_cancel},
  {"drains", lqsem_drains},
  {"pollfd", lqsem_pollfd},
  {"ready", lqsem_ready},
  {NULL, NULL}
};


/*
** Keep this library mapped until the process exits.  lua_close() unloads
** a C module when the last state that required it goes, but the library
** owns things that outlive every state: the published names, and the
** thread-specific data of the core's pthread back end, whose destructor
** runs at thread exit and would jump into unmapped code.
*/
static void pin_library (void) {
#if defined(LQSEM_HAVE_NODELETE)
  Dl_info info;
  if (dladdr((void *)&pin_library, &info) != 0 && info.dli_fname != NULL)
    (void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NODELETE | RTLD_NOLOAD);   /* best effort */
#endif
}

static pthread_once_t lqsem_pinned = PTHREAD_ONCE_INIT;


/*
** A metatable whose '__index' is a table of methods, as liolib's
** 'createmeta'; leaves the method table on the stack.  '__name' is set
** here for Lua 5.1, whose luaL_newmetatable does not.
*/
static void createmeta (lua_State *L, const char *name, const luaL_Reg *metameth,
                        const luaL_Reg *meths) {
  luaL_newmetatable(L, name);
  lua_pushstring(L, name);
  lua_setfield(L, -2, "__name");
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, name);   /* the key the checks use */
  luaL_setfuncs(L, metameth, 0);
  lua_newtable(L);
  luaL_setfuncs(L, meths, 0);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "__index");
  lua_remove(L, -2);
}


#include "lqsem_methods_lua.h"   /* lqsem_methods_lua[]: methods.lua, embedded */
#if !LQSEM_TBC
#include "lqsem_drive51_lua.h"   /* lqsem_drive51_lua[]: drive51.lua, embedded */
#endif

#if !LQSEM_TBC
/*
** The core functions that drive51.lua calls through the LuaJIT FFI on its
** fast paths, as function pointers: the module exports no symbol but
** luaopen_qsem, so ffi.C cannot find them.  A semaphore userdata
** (lqsem_Sem) starts with its qsem_t pointer.  Each call is one that the
** C methods make too, with arguments the Lua side has already checked; any
** other outcome goes on to the C method.
*/
typedef struct lqsem_FFI {
  int (*try_acquire) (qsem_t *s, int64_t n);
  int (*release) (qsem_t *s, int64_t n);
  int64_t (*waiting) (const qsem_t *s);
  /* a guard made by drive51.lua owns a handle, as one made here does */
  qsem_t *(*ref) (qsem_t *s);
  void (*unref) (qsem_t *s);
  /* what release returns when the count would pass the maximum */
  int eoverflow;
  /* whether a wait userdata (lqsem_Wait) is a generic host's */
  int (*generic) (const lqsem_Wait *wt);
  /* release_direct's release, given this state's hub (below) */
  int (*release_here) (lqsem_Hub *h, qsem_t *s, int64_t n, int *direct);
} lqsem_FFI;


static int lqsem_ffi_generic (const lqsem_Wait *wt) {
  return wt->kind == LQSEM_GENERIC;
}


/*
** The release of release_direct (lqsem_hub.c), for drive51.lua, given
** the hub 'h' of the calling state: the waits of this state that it
** resolves are queued without arming the fd (lqsem_notify).  0 or
** EOVERFLOW (nothing changed); '*direct' says whether cqueues waits were
** left for the C function 'wake' (lqsem_ffi_wake) to signal.
*/
static int lqsem_ffi_release_here (lqsem_Hub *h, qsem_t *s, int64_t n, int *direct) {
  lqsem_releasing = h;
  int r = qsem_release(s, n);
  lqsem_releasing = NULL;
  pthread_mutex_lock(&h->mu);
  *direct = h->direct;
  h->direct = 0;
  pthread_mutex_unlock(&h->mu);
  return r;
}

static const lqsem_FFI lqsem_ffi = {
  qsem_try_acquire, qsem_release, qsem_waiting, qsem_ref, qsem_unref, EOVERFLOW,
  lqsem_ffi_generic, lqsem_ffi_release_here
};

_Static_assert(offsetof(lqsem_Sem, s) == 0, "drive51.lua reads the handle at offset 0");
/* drive51.lua declares a guard as struct { void *_s; int64_t _n; } */
_Static_assert(offsetof(lqsem_Guard, s) == 0 && offsetof(lqsem_Guard, n) == sizeof(void *) &&
               sizeof(lqsem_Guard) == sizeof(void *) + sizeof(int64_t),
               "drive51.lua's guard has lqsem_Guard's layout");


/*
** drive51.lua's 'hub': this state's hub as a light userdata, or nil if it
** has none yet (then no wait of this state can need waking).
*/
static int lqsem_ffi_hub (lua_State *L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, LQSEM_HUBKEY) == LUA_TUSERDATA)
    lua_pushlightuserdata(L, lua_touserdata(L, -1));
  else
    lua_pushnil(L);
  return 1;
}


/* drive51.lua's 'wake': signal the cqueues waits that release_here left. */
static int lqsem_ffi_wake (lua_State *L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, LQSEM_HUBKEY) == LUA_TUSERDATA)
    wake_direct(L, (lqsem_Hub *)lua_touserdata(L, -1));
  return 0;
}
#endif

/* Run an embedded chunk with the 'nargs' values on the stack; push 'nres' results. */
static void runchunk (lua_State *L, const char *code, size_t len, const char *name, int nargs,
                      int nres) {
  if (luaL_loadbuffer(L, code, len, name) != 0)
    lua_error(L);
  lua_insert(L, -nargs - 1);
  lua_call(L, nargs, nres);
}


/* The methods written in Lua, in the method table at the top of the stack. */
static void addluamethods (lua_State *L) {
  lua_pushvalue(L, -1);
  runchunk(L, lqsem_methods_lua, sizeof lqsem_methods_lua - 1, "=qsem.methods", 1, 0);
#if !LQSEM_TBC
  lua_pushvalue(L, -1);
  lua_pushcfunction(L, lqsem_acquire);
  lua_pushcfunction(L, lqsem_hold);
  lua_pushcfunction(L, lqsem_step);
  lua_pushcfunction(L, lqsem_wait_finish);
  lua_pushlightuserdata(L, (void *)&lqsem_wait_sentinel);
  lua_pushcfunction(L, lqsem_try_acquire);
  lua_pushcfunction(L, lqsem_release);
  lua_rawgetp(L, LUA_REGISTRYINDEX, LQSEM_SEMAPHORE);
  lua_pushlightuserdata(L, (void *)&lqsem_ffi);
  lua_pushcfunction(L, lqsem_ffi_hub);
  lua_pushcfunction(L, lqsem_ffi_wake);
  runchunk(L, lqsem_drive51_lua, sizeof lqsem_drive51_lua - 1, "=qsem.drive51", 12, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, LQSEM_CDATANAMEKEY);   /* nil but under LuaJIT */
#endif
}


LQSEM_API int luaopen_qsem (lua_State *L) {
  (void)pthread_once(&lqsem_pinned, pin_library);
  createmeta(L, LQSEM_SEMAPHORE, lqsem_metameth, lqsem_meths);
  addluamethods(L);
  createmeta(L, LQSEM_GUARD, lqsem_guard_metameth, lqsem_guard_meths);
  createmeta(L, LQSEM_WAITER, lqsem_wait_metameth, lqsem_wait_meths);
  lua_pop(L, 3);
  luaL_newmetatable(L, LQSEM_HUB);
  lua_pushcfunction(L, hub_gc);
  lua_setfield(L, -2, "__gc");
  lua_rawsetp(L, LUA_REGISTRYINDEX, LQSEM_HUB);
  luaL_newlib(L, lqsem_funcs);
  lqsem_pushcount(L, QSEM_VALUE_MAX);   /* under Lua 5.1, the largest double below it */
  lua_setfield(L, -2, "VALUE_MAX");
  lua_pushliteral(L, QSEM_VERSION_STRING);
  lua_setfield(L, -2, "VERSION");
  lua_pushstring(L, qsem_backend());
  lua_setfield(L, -2, "backend");
  lua_pushlightuserdata(L, (void *)&lqsem_wait_sentinel);
  lua_setfield(L, -2, "WAIT");
  return 1;
}

/* }====================================================================== */
