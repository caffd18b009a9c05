/* SPDX-License-Identifier: MIT */
/*
** lqsem.c: the Lua front end of qsem (`local qsem = require "qsem"`), for
** Lua 5.4, 5.3 and 5.1/LuaJIT 2.1.  This file is the module and its
** objects; it includes the per-state hub (lqsem_hub.c) and the waits
** (lqsem_wait.c), so the module is one translation unit.  lqsem.h says
** what each part does.
**
** A semaphore is a userdata holding one handle (qsem_ref) on the native
** object; a guard holds a slot of its state's ledger of guards, which
** keeps a handle of its own and the tokens it gives back (lqsem.h,
** lqsem_Holds).  Semaphores are shared between Lua states, in one
** process, by name.
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

#define tosem(L)  ((lqsem_Sem *)checkudata(L, getctx(L), 1, CTX_SEMAPHORE, LQSEM_SEMAPHORE))


/* The native semaphore of the handle at 1; raises if it was dropped. */
static qsem_t *checksemc (lua_State *L, const lqsem_Ctx *c) {
  lqsem_Sem *h = (lqsem_Sem *)checkudata(L, c, 1, CTX_SEMAPHORE, LQSEM_SEMAPHORE);
  if (h->s == NULL) {   /* located at the user's call, also through drive51.lua */
    luaL_where(L, lqsem_userlevel(L));
    lua_pushliteral(L, "attempt to use a dropped semaphore");
    lua_concat(L, 2);
    lua_error(L);
  }
  return h->s;
}

#define checksem(L)  checksemc(L, getctx(L))


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
  setmeta(L, CTX_SEMAPHORE);
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
  int64_t max = LQSEM_VALUE_MAX;   /* qsem.VALUE_MAX, which max() can report exactly */
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

#define toguardc(L, c)  ((lqsem_Guard *)checkudata(L, c, 1, CTX_GUARD, LQSEM_GUARD))
#define toguard(L)  toguardc(L, getctx(L))


/* The slot that the guard 'g' holds in 'hs', or NULL if it holds none (released). */
static lqsem_Hold *guard_hold (lqsem_Holds *hs, const lqsem_Guard *g) {
  if (hs == NULL || g->slot >= hs->cap)
    return NULL;
  lqsem_Hold *r = &hs->rec[g->slot];
  return r->next == LQSEM_HOLD_USED && r->gen == g->gen && r->s != NULL ? r : NULL;
}


/* Free slot 'i' of 'hs': it no longer belongs to any guard. */
static void holds_free (lqsem_Holds *hs, uint32_t i) {
  lqsem_Hold *r = &hs->rec[i];
  r->s = NULL;
  r->n = 0;
  r->gen++;
  r->next = hs->free;
  hs->free = i + 1;
}


/*
** Give back the tokens of slot 'i', and free it; 0 or the result of
** qsem_release.  'L' is NULL in a finalizer, which leaves wake-ups to the
** fd.  The slot is freed first: a failed release is not retried.
*/
static int holds_release (lua_State *L, lqsem_Holds *hs, uint32_t i) {
  qsem_t *s = hs->rec[i].s;
  int64_t n = hs->rec[i].n;
  holds_free(hs, i);
  if (s == NULL)
    return 0;
  int r = L != NULL ? release_direct(L, s, n) : qsem_release(s, n);
  qsem_unref(s);
  return r;
}


/*
** The collector's sentinel: finalized once per cycle, after the weak
** entries of the guards that died were cleared.  Gives back what those
** guards held, then arms itself again: Lua 5.3 and 5.4 mark an object for
** finalization again when it gets a metatable with '__gc' in its own
** finalizer; Lua 5.1 and LuaJIT finalize an object once, so there a new
** sentinel is made.
*/
static int holds_sweep (lua_State *L) {
  lqsem_Ctx *c = getctx(L);
  lqsem_Holds *hs = c->holds;
  c->armed = 0;
  if (hs != NULL && ctx_get(L, CTX_GUARDS) == LUA_TTABLE) {
    int t = lua_gettop(L);
    for (uint32_t i = 0; i < hs->cap; i++) {
      if (hs->rec[i].next != LQSEM_HOLD_USED)
        continue;
      int alive = lua_rawgeti(L, t, (lua_Integer)i + 1) > LUA_TBOOLEAN;   /* a guard (LuaJIT: or cdata) */
      lua_pop(L, 1);
      if (!alive)
        (void)holds_release(NULL, hs, i);   /* a finalizer has nobody to tell */
    }
  }
  lua_settop(L, 1);
#if LUA_VERSION_NUM >= 503
  ctx_get(L, CTX_SWEEPMT);
  lua_setmetatable(L, 1);
#else
  (void)lua_newuserdata(L, 0);
  ctx_get(L, CTX_SWEEPMT);
  lua_setmetatable(L, -2);
#endif
  c->armed = 1;
  return 0;
}


/* Make a sentinel, unless one is armed; may raise (memory). */
static void holds_arm (lua_State *L, lqsem_Ctx *c) {
  if (!c->armed) {
    (void)lua_newuserdatauv(L, 0, 0);
    ctx_get(L, CTX_SWEEPMT);
    lua_setmetatable(L, -2);
    lua_pop(L, 1);   /* garbage from now on: the next cycle finalizes it */
    c->armed = 1;
  }
}


/*
** The ledger of guards with a free slot: made, or replaced by one twice
** as big, if needed.  Called before any slot is taken: what allocates
** here may run a collector step, and with it the sentinel, which must
** find every taken slot with its guard's entry in CTX_GUARDS.  The weak
** table gets the new slots' entries ('false') here too.  May raise
** (memory).
*/
static lqsem_Holds *holds_room (lua_State *L, lqsem_Ctx *c) {
  if (c->holds != NULL && c->holds->free != 0)
    return c->holds;
  uint32_t old = c->holds != NULL ? c->holds->cap : 0;
  if (old >= (UINT32_C(1) << 30))
    luaL_error(L, "too many guards");
  uint32_t cap = old ? 2 * old : 16;
  lqsem_Holds *nh = (lqsem_Holds *)lua_newuserdatauv(L, sizeof *nh + cap * sizeof nh->rec[0], 0);
  lqsem_Holds *hs = c->holds;   /* as the collector may have left it */
  memcpy(nh->rec, hs ? hs->rec : nh->rec, old * sizeof nh->rec[0]);
  for (uint32_t i = old; i < cap; i++) {
    nh->rec[i].s = NULL;
    nh->rec[i].n = 0;
    nh->rec[i].gen = 0;
    nh->rec[i].next = i + 1 < cap ? i + 2 : (hs ? hs->free : 0);
  }
  nh->cap = cap;
  nh->free = old + 1;
  ctx_set(L, CTX_HOLDS);   /* the old one is garbage now */
  c->holds = nh;
  if (ctx_get(L, CTX_GUARDS) != LUA_TTABLE) {
    lua_pop(L, 1);
    newweaktable(L, "v");
    lua_pushvalue(L, -1);
    ctx_set(L, CTX_GUARDS);
  }
  for (uint32_t i = old; i < cap; i++) {
    lua_pushboolean(L, 0);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_pop(L, 1);
  return nh;
}


/*
** Push a guard that holds nothing yet; acquire fills it in (guard_fill)
** once the tokens are taken.  Takes its slot here, before any token is
** ours, so that a memory error cannot strand them.  'c' is the context.
*/
static lqsem_Guard *newguard (lua_State *L, lqsem_Ctx *c) {
  lqsem_Holds *hs;
  if (!c->armed)
    holds_arm(L, c);
  if (c->holds == NULL || c->holds->free == 0)
    (void)holds_room(L, c);
  lqsem_Guard *g = (lqsem_Guard *)lua_newuserdatauv(L, sizeof *g, 0);
  g->slot = UINT32_MAX;   /* none, until the slot is taken below */
  setmeta(L, CTX_GUARD);
  hs = c->holds;   /* as the collector may have left it */
  if (hs->free == 0)
    hs = holds_room(L, c);   /* the guard is on the stack: it stays */
  uint32_t i = hs->free - 1;
  lqsem_Hold *r = &hs->rec[i];
  hs->free = r->next;
  r->next = LQSEM_HOLD_USED;
  g->slot = i;
  g->gen = r->gen;
  ctx_get(L, CTX_GUARDS);
  lua_pushvalue(L, -2);
  lua_rawseti(L, -2, (lua_Integer)i + 1);   /* no collector step in a raw set */
  lua_pop(L, 1);
  return g;
}


/* The guard 'g' of context 'c' now holds 'n' tokens of 's' (never fails). */
static void guard_fillc (lqsem_Ctx *c, const lqsem_Guard *g, qsem_t *s, int64_t n) {
  lqsem_Hold *r = &c->holds->rec[g->slot];
  r->s = qsem_ref(s);
  r->n = n;
}

/* The same, for the guard at 'idx'. */
static void guard_fill (lua_State *L, int idx, qsem_t *s, int64_t n) {
  guard_fillc(getctx(L), (const lqsem_Guard *)lua_touserdata(L, idx), s, n);
}


/*
** The guard at 'idx' never held a token (its hold failed, or a 5.1 step
** found the wait not over): its slot goes back to the ledger now, not
** when the collector reclaims the guard, which a loop of failing holds
** would outrun, growing the ledger without bound.  Its entry in
** CTX_GUARDS stays: the sweep looks only at taken slots, and the next
** guard to take this one replaces it.
*/
static void guard_unused (lua_State *L, int idx) {
  lqsem_Guard *g = (lqsem_Guard *)lua_touserdata(L, idx);
  lqsem_Holds *hs = getctx(L)->holds;
  if (hs != NULL && g->slot < hs->cap) {
    lqsem_Hold *r = &hs->rec[g->slot];
    if (r->next == LQSEM_HOLD_USED && r->gen == g->gen && r->s == NULL)
      holds_free(hs, g->slot);
  }
  g->slot = UINT32_MAX;   /* holds none: release and the sweep skip it */
}

/* A hold (a guard at 'idx') or acquire ('idx' 0) that failed: fail and why. */
static int failhold (lua_State *L, int idx, int err) {
  if (idx != 0)
    guard_unused(L, idx);
  return failresult(L, err);
}


static int raise_release (lua_State *L, int r) {
  if (r == EOVERFLOW)
    return luaL_error(L, "guard release would pass the semaphore's maximum");
  return unexpected(L, r);
}


/* 'release' and '__close': give the tokens back now, once. */
static int lqsem_guard_release (lua_State *L) {
  lqsem_Ctx *c = getctx(L);
  lqsem_Guard *g = toguardc(L, c);
  lqsem_Holds *hs = c->holds;
  if (guard_hold(hs, g) == NULL)
    return 0;   /* released before */
  /* its entry in CTX_GUARDS may stay: the sweep looks only at taken slots,
     and the next guard to take this one replaces it */
  int r = holds_release(L, hs, g->slot);
  if (r != 0)
    return raise_release(L, r);
  return 0;
}


/*
** '__gc' of the context, which only lua_close finalizes: the guards that
** nobody released give their tokens back.
*/
static int ctx_close (lua_State *L) {
  lqsem_Ctx *c = (lqsem_Ctx *)lua_touserdata(L, 1);
  lqsem_Holds *hs = c != NULL ? c->holds : NULL;
  for (uint32_t i = 0; hs != NULL && i < hs->cap; i++) {
    if (hs->rec[i].next == LQSEM_HOLD_USED)
      (void)holds_release(NULL, hs, i);   /* a finalizer has nobody to tell */
  }
  return 0;
}


static int lqsem_guard_count (lua_State *L) {
  lqsem_Hold *r = guard_hold(getctx(L)->holds, toguard(L));
  lqsem_pushcount(L, r != NULL ? r->n : 0);
  return 1;
}


static int lqsem_guard_tostring (lua_State *L) {
  lqsem_Guard *g = toguard(L);
  lqsem_Hold *r = guard_hold(getctx(L)->holds, g);
  if (r == NULL)
    lua_pushfstring(L, "qsem.Guard (released): %p", (void *)g);
  else
  {
    lqsem_pushint(L, r->n);
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
  lqsem_Sem *h = (lqsem_Sem *)checkudata(L, getctx(L), 2, CTX_SEMAPHORE, LQSEM_SEMAPHORE);
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

/* No '__gc': a guard nobody released is found by holds_sweep. */
static const luaL_Reg lqsem_guard_metameth[] = {
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
** Set the functions of 'l' in the table at the top, as closures over the
** context at 'ctx' (its table; its lqsem_Ctx is at 'ctx' + 1).
*/
static void setfuncs (lua_State *L, int ctx, const luaL_Reg *l) {
  lua_pushvalue(L, ctx);
  lua_pushvalue(L, ctx + 1);
  luaL_setfuncs(L, l, 2);
}


#if !LQSEM_TBC
/* Push 'f' as a closure over the context at 'ctx' (see setfuncs). */
static void pushfuncat (lua_State *L, int ctx, lua_CFunction f) {
  lua_pushvalue(L, ctx);
  lua_pushvalue(L, ctx + 1);
  lua_pushcclosure(L, f, 2);
}
#endif


/* Keep the address of the metatable at the top in the context at 'ctx', for testudata. */
static void keepmeta (lua_State *L, int ctx, int slot) {
  ((lqsem_Ctx *)lua_touserdata(L, ctx + 1))->mt[slot] = lua_topointer(L, -1);
  lua_pushvalue(L, -1);
  lua_rawseti(L, ctx, slot);
}


/*
** A metatable whose '__index' is a table of methods, as liolib's
** 'createmeta', kept in the context at 'ctx' at 'slot'; leaves the method
** table on the stack.  '__name' is set here for Lua 5.1, whose
** luaL_newmetatable does not.
*/
static void createmeta (lua_State *L, int ctx, int slot, const char *name,
                        const luaL_Reg *metameth, const luaL_Reg *meths) {
  luaL_newmetatable(L, name);
  lua_pushstring(L, name);
  lua_setfield(L, -2, "__name");
  keepmeta(L, ctx, slot);   /* where the checks look */
  setfuncs(L, ctx, metameth);
  lua_newtable(L);
  setfuncs(L, ctx, meths);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "__index");
  lua_remove(L, -2);
}


/*
** The metatable of the collector's sentinel (holds_sweep), in the context
** at 'ctx', and a first sentinel.
*/
static void sweepmeta (lua_State *L, int ctx) {
  lua_createtable(L, 0, 1);
  lua_pushvalue(L, ctx);
  lua_pushvalue(L, ctx + 1);
  lua_pushcclosure(L, holds_sweep, 2);
  lua_setfield(L, -2, "__gc");
  lua_rawseti(L, ctx, CTX_SWEEPMT);
}


/*
** Push the module's context (lqsem.h), its table and then its lqsem_Ctx:
** the one this state made when it first loaded the module, or a new one.
*/
static void pushcontext (lua_State *L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, LQSEM_CTXKEY) == LUA_TTABLE) {
    lua_rawgeti(L, -1, CTX_CSTATE);
    return;
  }
  lua_pop(L, 1);
  lua_createtable(L, CTX_N, 0);
  lqsem_Ctx *c = (lqsem_Ctx *)lua_newuserdatauv(L, sizeof *c, 0);
  memset(c, 0, sizeof *c);
  lua_createtable(L, 0, 1);   /* its metatable: lua_close gives back the guards' tokens */
  lua_pushcfunction(L, ctx_close);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_rawseti(L, -3, CTX_CSTATE);
  lua_pushvalue(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, LQSEM_CTXKEY);
  sweepmeta(L, lua_gettop(L) - 1);
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
  /* what release returns when the count would pass the maximum */
  int eoverflow;
  /* release_direct's release, given this state's hub (below) */
  int (*release_here) (lqsem_Hub *h, qsem_t *s, int64_t n, lqsem_Woken *wk);
  /* a cdata guard's slot in the ledger of guards (below) */
  int64_t (*hold_peek) (const lqsem_Ctx *c);
  int64_t (*hold_take) (lqsem_Ctx *c, int64_t i, qsem_t *s, int64_t n);
  int (*hold_give) (lqsem_Ctx *c, uint32_t slot, uint32_t gen, lqsem_Woken *wk);
  int64_t (*hold_count) (const lqsem_Ctx *c, uint32_t slot, uint32_t gen);
  /* a generic host's waits (below), and the results they return */
  int (*repark) (lqsem_Hub *h, lqsem_Wait *wt, const lqsem_Sem *sem, int64_t n, double timeout,
                 int kind);
  int (*look) (lqsem_Wait *wt);
  double (*left) (const lqsem_Wait *wt);
  int (*drain) (lqsem_Hub *h, double *addr, int cap, int kind);
  void (*requeue) (lqsem_Hub *h, lqsem_Wait *wt);
  int eagain, einprogress, etimedout, ecanceled, ecancelled, ebusy;
  int generic, cqueues;
} lqsem_FFI;


/*
** Take up to 'cap' resolved waits of 'kind' off the hub (its lock held),
** oldest first, writing their addresses as numbers (the keys of
** CTX_BYADDR or CTX_CQBYADDR); the count.  As hub_drain, which allocates
** under the lock, this does not.
*/
static int drain_locked (lqsem_Hub *h, double *addr, int cap, int kind) {
  int k = 0;
  for (lqsem_Wait *wt = h->head, *next; wt != NULL && k < cap; wt = next) {
    next = wt->next;
    if (wt->kind == kind) {
      hub_unlink(h, wt);
      addr[k++] = (double)(uintptr_t)wt;
    }
  }
  return k;
}


/*
** The release of release_direct (lqsem_hub.c), for drive51.lua, given
** the hub 'h' of the calling state: the waits of this state that it
** resolves are queued without arming the fd (lqsem_notify).  0 or
** EOVERFLOW (nothing changed).  The first cqueues wait among them is
** taken off the hub into 'wk', under the lock taken anyway, for
** drive51.lua to signal (as wake_direct does), and E.drain takes any
** others, one at a time (lqsem_Woken says whether there are).
*/
static int lqsem_ffi_release_here (lqsem_Hub *h, qsem_t *s, int64_t n, lqsem_Woken *wk) {
  lqsem_releasing = h;
  int r = qsem_release(s, n);
  lqsem_releasing = NULL;
  pthread_mutex_lock(&h->mu);
  if (!h->direct)
    wk->n = 0;
  else if (!wk->take)
    wk->n = -1;
  else if ((wk->n = drain_locked(h, &wk->addr, 1, LQSEM_CQUEUES)) != 0 &&
           atomic_load_explicit(&h->nqueued[LQSEM_CQUEUES], memory_order_relaxed) != 0)
    wk->n = 2;
  h->direct = 0;
  pthread_mutex_unlock(&h->mu);
  return r;
}


/*
** A guard made by drive51.lua is FFI cdata laid out as lqsem_Guard, with a
** slot of the ledger as a userdata guard has, so the same sentinel gives
** back what an unreleased one held; the cdata needs no finalizer, whose
** registration (ffi.gc) would cost more than the rest of a guard.  Its
** entry in CTX_GUARDS must be there before the slot is taken, with no
** allocation in between (a collector step there would run the sweep):
** drive51.lua makes the cdata, asks hold_peek for the slot, stores the
** entry, then calls hold_take.
*/

/* The slot hold_take would take, or -1: none free, or no sentinel armed
   (the C method makes room and arms one). */
static int64_t lqsem_ffi_hold_peek (const lqsem_Ctx *c) {
  if (!c->armed || c->holds == NULL || c->holds->free == 0)
    return -1;
  return (int64_t)c->holds->free - 1;
}

/* Take n tokens of s into slot i, if i is still the free slot hold_peek
   gave: the slot's gen (>= 0), or -1 with nothing changed (no tokens). */
static int64_t lqsem_ffi_hold_take (lqsem_Ctx *c, int64_t i, qsem_t *s, int64_t n) {
  if (lqsem_ffi_hold_peek(c) != i || qsem_try_acquire(s, n) != 0)
    return -1;
  lqsem_Holds *hs = c->holds;
  lqsem_Hold *r = &hs->rec[i];
  hs->free = r->next;
  r->next = LQSEM_HOLD_USED;
  r->s = qsem_ref(s);
  r->n = n;
  return r->gen;
}

/*
** Release the guard {slot, gen}: free its slot and give its tokens back,
** as release_direct does (the waits of this state that they resolve are
** queued without the fd; 'wk' as release_here's), in one call.  0,
** EOVERFLOW (released all the same: never twice), or -1 if the guard
** held nothing (released before).
*/
static int lqsem_ffi_hold_give (lqsem_Ctx *c, uint32_t slot, uint32_t gen, lqsem_Woken *wk) {
  const lqsem_Guard g = { slot, gen };
  lqsem_Hold *h = guard_hold(c->holds, &g);
  wk->n = 0;
  if (h == NULL)
    return -1;
  qsem_t *s = h->s;
  int64_t n = h->n;
  holds_free(c->holds, slot);
  int r = c->hub != NULL && qsem_waiting(s) != 0 ? lqsem_ffi_release_here(c->hub, s, n, wk)
                                                 : qsem_release(s, n);
  qsem_unref(s);
  return r;
}

/* The tokens the guard {slot, gen} holds, or -1 if it holds none (released). */
static int64_t lqsem_ffi_hold_count (const lqsem_Ctx *c, uint32_t slot, uint32_t gen) {
  const lqsem_Guard g = { slot, gen };
  const lqsem_Hold *r = guard_hold(c->holds, &g);
  return r != NULL ? r->n : -1;
}

/*
** A coroutine's waits under LuaJIT.  A coroutine's second and later waits
** on one semaphore for one count restart its kept wait (coop_park) from
** drive51.lua, which keeps the tables that the C methods keep for the
** waits they start (CTX_PARKED or CTX_CQPARKED, and CTX_BYADDR or
** CTX_CQBYADDR); these do the rest, with no call through the Lua C API,
** which the JIT cannot compile.
**
** repark: restart the kept wait 'wt' of the running coroutine, idle and
** kept for the semaphore 'sem' and 'n', as coop_park does for a wait of
** 'kind' (LQSEM_GENERIC or LQSEM_CQUEUES) with the timeout in seconds (<
** 0: none).  0: granted at once, claimed, and the wait over; EINPROGRESS:
** queued, the coroutine parks (under cqueues: the glue's wait polls, as
** after lqsem_step); -1: not for this path, nothing changed, or the
** semaphore is closed and the wait over again: the C method then does it
** all; EBUSY: the wait is still on, left so by an error raised after it
** started (memory, or a hook), which drive51.lua ends (lqsem_wait_finish)
** before it asks again.  drive51.lua passes both userdata as they are
** (the FFI passes their addresses).
*/
static int lqsem_ffi_repark (lqsem_Hub *h, lqsem_Wait *wt, const lqsem_Sem *sem, int64_t n,
                             double timeout, int kind) {
  qsem_t *s = sem->s;
  int64_t deadline = QSEM_FOREVER, ns;
  if (wt->w != NULL)
    return EBUSY;
  if (s == NULL || wt->spare == NULL || !wt->kept || wt->s != s || wt->n != n ||
      (kind != LQSEM_GENERIC && kind != LQSEM_CQUEUES))
    return -1;
  if (timeout >= 0) {
    if (qsem_timeout_from_sec(timeout, &ns) != 0)
      return -1;
    deadline = qsem_deadline_after(ns);
  }
  wait_reset(wt, s, n, deadline, kind, 0);
  wt->hub = h;
  wt->polling = kind == LQSEM_CQUEUES;
  wt->w = wt->spare;
  wt->spare = NULL;
  int r = wait_begin(wt);
  if (r == EINPROGRESS)
    return r;
  (void)wait_end_core(wt);
  return r == 0 ? 0 : -1;
}

/* look: one look at a parked wait, as the 5.1 driver's step; a wait that
   is over (any result but EINPROGRESS) ends here. */
static int lqsem_ffi_look (lqsem_Wait *wt) {
  int r = coop_look(wt);
  if (r != EINPROGRESS)
    (void)wait_end_core(wt);
  return r;
}

/* left: the seconds left before the wait's deadline (never negative), or
   -1 for none: the glue's timeout, as pushleft gives it to the C path. */
static double lqsem_ffi_left (const lqsem_Wait *wt) {
  if (wt->deadline == QSEM_FOREVER)
    return -1;
  int64_t left = wt->deadline - qsem_now_ns();
  return left > 0 ? (double)left / 1e9 : 0.0;
}

/* drain: drain_locked, for qsem.ready (generic waits, with the fd
   emptied first and made readable again if waits remain) and for the
   cqueues waits that a release left beyond the one in lqsem_Woken. */
static int lqsem_ffi_drain (lqsem_Hub *h, double *addr, int cap, int kind) {
  pthread_mutex_lock(&h->mu);
  if (kind == LQSEM_GENERIC)
    hub_disarm(h);
  int k = drain_locked(h, addr, cap, kind);
  if (kind == LQSEM_GENERIC && h->head != NULL)
    hub_arm(h);
  pthread_mutex_unlock(&h->mu);
  return k;
}

/* requeue: put back a drained cqueues wait that could not be signalled,
   and make the fd readable, so that its controller's dispatcher delivers
   it instead (as wake_direct does). */
static void lqsem_ffi_requeue (lqsem_Hub *h, lqsem_Wait *wt) {
  pthread_mutex_lock(&h->mu);
  hub_requeue(h, wt);
  hub_arm(h);
  pthread_mutex_unlock(&h->mu);
}

static const lqsem_FFI lqsem_ffi = {
  qsem_try_acquire, qsem_release, qsem_waiting, EOVERFLOW,
  lqsem_ffi_release_here,
  lqsem_ffi_hold_peek, lqsem_ffi_hold_take, lqsem_ffi_hold_give, lqsem_ffi_hold_count,
  lqsem_ffi_repark, lqsem_ffi_look, lqsem_ffi_left, lqsem_ffi_drain, lqsem_ffi_requeue,
  EAGAIN, EINPROGRESS, ETIMEDOUT, ECANCELED, LQSEM_ECANCELLED, EBUSY,
  LQSEM_GENERIC, LQSEM_CQUEUES
};

_Static_assert(offsetof(lqsem_Sem, s) == 0, "drive51.lua reads the handle at offset 0");


/*
** drive51.lua's 'hub': this state's hub as a light userdata, or nil if it
** has none yet (then no wait of this state can need waking).
*/
static int lqsem_ffi_hub (lua_State *L) {
  lqsem_Hub *h = getctx(L)->hub;
  if (h != NULL)
    lua_pushlightuserdata(L, h);
  else
    lua_pushnil(L);
  return 1;
}


/*
** drive51.lua's 'tables': this state's hub (made if need be), as a light
** userdata, then CTX_PARKED, CTX_SPARE, CTX_HOSTED, CTX_BYADDR,
** CTX_CQPARKED and CTX_CQBYADDR, which the hub brings along under LuaJIT
** (gethub).
*/
static int lqsem_ffi_tables (lua_State *L) {
  lua_pushlightuserdata(L, gethub(L));
  ctx_get(L, CTX_PARKED);
  ctx_get(L, CTX_SPARE);
  ctx_get(L, CTX_HOSTED);
  ctx_get(L, CTX_BYADDR);
  ctx_get(L, CTX_CQPARKED);
  ctx_get(L, CTX_CQBYADDR);
  return 7;
}


/* drive51.lua's 'cqglue': the cqueues glue's wait, wake and prepare
   functions, loading cqueues_glue.lua if no wait has yet. */
static int lqsem_ffi_cqglue (lua_State *L) {
  pushcqwait(L, gethub(L));
  ctx_get(L, CTX_CQWAKE);
  ctx_get(L, CTX_CQPREP);
  return 3;
}


/* drive51.lua's 'wake': signal the cqueues waits that release_here left
   listed ('n' -1 in lqsem_Woken). */
static int lqsem_ffi_wake (lua_State *L) {
  lqsem_Hub *h = getctx(L)->hub;
  if (h != NULL)
    wake_direct(L, h);
  return 0;
}


/*
** drive51.lua's 'take': hand the slot of the guard userdata at 1 (made by
** the C method after a wait) to the cdata guard at 2, whose entry in
** CTX_GUARDS it becomes, and push the slot and its gen; the userdata then
** holds nothing.  Nothing is pushed for a guard that holds nothing.
*/
static int lqsem_ffi_take (lua_State *L) {
  lqsem_Guard *g = toguard(L);
  if (guard_hold(getctx(L)->holds, g) == NULL)
    return 0;
  ctx_get(L, CTX_GUARDS);
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, (lua_Integer)g->slot + 1);   /* an existing key: no collector step */
  lua_pushinteger(L, (lua_Integer)g->slot);
  lua_pushinteger(L, (lua_Integer)g->gen);
  g->slot = UINT32_MAX;
  return 2;
}


/* drive51.lua's 'ledger': the context (light userdata) and CTX_GUARDS, or
   nothing before the first guard of this state. */
static int lqsem_ffi_ledger (lua_State *L) {
  if (ctx_get(L, CTX_GUARDS) != LUA_TTABLE)
    return 0;
  lua_pushlightuserdata(L, getctx(L));
  lua_insert(L, -2);
  return 2;
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


#if LQSEM_TBC
/*
** Lua 5.4: run(g, fn, ...), the body of methods.lua's s:with: fn(...) with
** the guard 'g' in a to-be-closed slot, so that coroutine.close() of a
** coroutine suspended in fn gives its tokens back at once.  An error of
** fn is caught, and raised again, unchanged, once the guard is closed:
** Lua does not close the pending variables of a coroutine that an error
** ends (its stack stays for debugging).  fn may yield (hence
** lua_pcallk); its results go on unchanged.
*/
static int with_k (lua_State *L, int status, lua_KContext ctx) {
  (void)ctx;
  if (status != LUA_OK && status != LUA_YIELD) {
    /* the guard's release now (it may raise instead); closing the slot
       again on the way out finds it released.  Not lua_closeslot, which
       Lua 5.4.0 to 5.4.2 lack. */
    luaL_getmetafield(L, 1, "__close");
    lua_pushvalue(L, 1);
    lua_call(L, 1, 0);
    return lua_error(L);
  }
  return lua_gettop(L) - 1;   /* all but the guard, which is closed on return */
}

static int lqsem_with_run (lua_State *L) {
  lua_toclose(L, 1);
  int status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0, with_k);
  return with_k(L, status, 0);
}
#endif


/*
** The methods written in Lua, in the method table at the top of the stack;
** the context is at 'ctx'.
*/
static void addluamethods (lua_State *L, int ctx) {
  lua_pushvalue(L, -1);
#if LQSEM_TBC
  lua_pushcfunction(L, lqsem_with_run);   /* needs no context */
  runchunk(L, lqsem_methods_lua, sizeof lqsem_methods_lua - 1, "=qsem.methods", 2, 0);
  (void)ctx;
#else
  runchunk(L, lqsem_methods_lua, sizeof lqsem_methods_lua - 1, "=qsem.methods", 1, 0);
  lua_pushvalue(L, -1);
  pushfuncat(L, ctx, lqsem_acquire);
  pushfuncat(L, ctx, lqsem_hold);
  pushfuncat(L, ctx, lqsem_step);
  pushfuncat(L, ctx, lqsem_wait_finish);
  lua_pushlightuserdata(L, (void *)&lqsem_wait_sentinel);
  pushfuncat(L, ctx, lqsem_try_acquire);
  pushfuncat(L, ctx, lqsem_release);
  lua_rawgeti(L, ctx, CTX_SEMAPHORE);
  lua_pushlightuserdata(L, (void *)&lqsem_ffi);
  pushfuncat(L, ctx, lqsem_ffi_hub);
  pushfuncat(L, ctx, lqsem_ffi_wake);
  pushfuncat(L, ctx, lqsem_ffi_take);
  pushfuncat(L, ctx, lqsem_ffi_ledger);
  pushfuncat(L, ctx, lqsem_ffi_tables);
  pushfuncat(L, ctx, lqsem_ffi_cqglue);
  pushfuncat(L, ctx, lqsem_ready);
  runchunk(L, lqsem_drive51_lua, sizeof lqsem_drive51_lua - 1, "=qsem.drive51", 17, 2);
  /* LuaJIT: its qsem.ready, which needs CTX_BYADDR kept from the first wait on */
  ((lqsem_Ctx *)lua_touserdata(L, ctx + 1))->ffi = lua_isfunction(L, -1);
  lua_rawseti(L, ctx, CTX_READY);
  lua_rawseti(L, ctx, CTX_CDATANAME);   /* nil but under LuaJIT */
#endif
}


LQSEM_API int luaopen_qsem (lua_State *L) {
  (void)pthread_once(&lqsem_pinned, pin_library);
  pushcontext(L);
  int ctx = lua_gettop(L) - 1;   /* the table; its lqsem_Ctx above it */
  createmeta(L, ctx, CTX_SEMAPHORE, LQSEM_SEMAPHORE, lqsem_metameth, lqsem_meths);
  addluamethods(L, ctx);
  createmeta(L, ctx, CTX_GUARD, LQSEM_GUARD, lqsem_guard_metameth, lqsem_guard_meths);
  createmeta(L, ctx, CTX_WAITER, LQSEM_WAITER, lqsem_wait_metameth, lqsem_wait_meths);
  lua_pop(L, 3);
  luaL_newmetatable(L, LQSEM_HUB);
  lua_pushcfunction(L, hub_gc);   /* needs no context */
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newlibtable(L, lqsem_funcs);
  setfuncs(L, ctx, lqsem_funcs);
  lqsem_pushcount(L, LQSEM_VALUE_MAX);
  lua_setfield(L, -2, "VALUE_MAX");
  lua_pushliteral(L, QSEM_VERSION_STRING);
  lua_setfield(L, -2, "VERSION");
  lua_pushstring(L, qsem_backend());
  lua_setfield(L, -2, "backend");
  lua_pushlightuserdata(L, (void *)&lqsem_wait_sentinel);
  lua_setfield(L, -2, "WAIT");
  if (lua_rawgeti(L, ctx, CTX_READY) == LUA_TFUNCTION)   /* LuaJIT */
    lua_setfield(L, -2, "ready");
  else
    lua_pop(L, 1);
  return 1;
}

/* }====================================================================== */
