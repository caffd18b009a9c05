/* SPDX-License-Identifier: MIT */
/*
** lqsem_wait.c: acquire and hold, and their waits (part of lqsem.c, which
** includes it).
**
** Outside a coroutine, a wait blocks the OS thread.  Inside a coroutine run
** by a host scheduler, a wait becomes an async waiter of the core
** (qsem_waiter_*) and the coroutine yields to its host instead:
**
**   - under cqueues the coroutine polls a per-wait condition variable with
**     its remaining timeout; one dispatcher coroutine per controller polls
**     the state's notification fd and signals the conditions of the waits
**     that were resolved (cqueues_glue.lua);
**   - under any other host that marked the coroutine with qsem.hosted(), the
**     coroutine yields qsem.WAIT and a waiter object; the host polls
**     qsem.pollfd() and resumes what qsem.ready() returns (docs/lua.md).
**
** From the start of a wait to its end the state keeps the coroutine of a
** generic host (context slot CTX_PARKED), so a host cannot lose it; cqueues
** keeps its coroutines itself, and a controller dropped with them takes
** their waits along (CTX_CQPARKED, weak).  A wait ends when its
** acquire returns, when qsem.cancel() or the host ends it, or when its
** coroutine is closed; whichever comes first gives unclaimed tokens back.
*/

/* Fixed stack slots of acquire()/hold() once they may wait. */
#define SLOT_GUARD 4
#define SLOT_CTL   5   /* the cqueues controller that runs the wait (waitkind), or nil */
#define SLOT_WAIT  6

/* The sentinel that a waiting coroutine yields to a generic host. */
static const char lqsem_wait_sentinel = 0;

#define towait(L)  ((lqsem_Wait *)checkudata(L, getctx(L), 1, CTX_WAITER, LQSEM_WAITER))


/* Seconds left before 'deadline' (never negative), or nil for none. */
static void pushleft (lua_State *L, int64_t deadline) {
  if (deadline == QSEM_FOREVER) {
    lua_pushnil(L);
    return;
  }
  int64_t left = deadline - qsem_now_ns();
  lua_pushnumber(L, left > 0 ? (lua_Number)left / 1e9 : 0.0);
}


/* {======================================================================
** Waiter objects
** ======================================================================= */

/* The context's slot of the parked coroutines for waits of 'kind'. */
static int parkedkey (int kind) {
  return kind == LQSEM_CQUEUES ? CTX_CQPARKED : CTX_PARKED;
}


/*
** Push the coroutine of the wait at 'idx' and return 1, or return 0 with
** nothing pushed if it has none.  'self': L is that coroutine (a step of
** the 5.1 driver), which spares reading the user value, emulated in 5.1.
*/
static int pushco (lua_State *L, int idx, int self) {
  if (self)
    return lua_pushthread(L), 1;
  if (lua_getiuservalue(L, idx, 1) == LUA_TTHREAD)
    return 1;
  lua_pop(L, 1);
  return 0;
}


/*
** LuaJIT: set (or, with 'on' 0, clear) the entry of the wait at 'idx' in
** the table where drive51.lua finds a wait that the FFI drained
** (lqsem_ffi_drain), under the wait's address as a number: CTX_BYADDR,
** to the running coroutine, for qsem.ready; CTX_CQBYADDR, to the wait,
** for the signal of a cqueues wait.
*/
static void byaddr (lua_State *L, int idx, int kind, int on) {
  int top = lua_gettop(L);
  if (ctx_get(L, kind == LQSEM_CQUEUES ? CTX_CQBYADDR : CTX_BYADDR) == LUA_TTABLE) {
    lua_pushnumber(L, (lua_Number)(uintptr_t)lua_touserdata(L, idx));
    if (!on) lua_pushnil(L);
    else if (kind == LQSEM_CQUEUES) lua_pushvalue(L, idx);
    else lua_pushthread(L);
    lua_rawset(L, -3);
  }
  lua_settop(L, top);
}


/*
** Forget the parked coroutine of the wait at 'idx': the coroutine is
** again only its host's to keep.  The entry is this wait's: a coroutine
** has at most one wait that has not ended (each ends before its acquire
** returns, by '__close' or the 5.1 driver), and this one ends once.
*/
static void unpark (lua_State *L, int idx, int kind, int self) {
  int top = lua_gettop(L);
  if (ctx_get(L, parkedkey(kind)) == LUA_TTABLE && pushco(L, idx, self)) {
    lua_pushnil(L);
    lua_rawset(L, -3);   /* parked[co] = nil */
  }
  lua_settop(L, top);
  if (getctx(L)->ffi)
    byaddr(L, idx, kind, 0);
}


/* Tell the cqueues glue that the wait at 'idx' no longer polls. */
static void cq_leave (lua_State *L, int idx) {
  int top = lua_gettop(L);
  if (ctx_get(L, CTX_CQLEAVE) == LUA_TFUNCTION) {
    lua_pushvalue(L, idx);
    (void)lua_pcall(L, 1, 0, 0);   /* it cannot fail but on memory; a finalizer must not raise */
  }
  lua_settop(L, top);
}


/*
** Keep the finished wait at 'idx' for its coroutine's next wait (context
** slot CTX_SPARE, weak keys): the next acquire of that coroutine on the same
** semaphore and count restarts its idle waiter instead of making a wait
** userdata and a waiter afresh (coop_park).  The wait keeps its coroutine
** as its user value, so coop_park need not set it again.  Where weak keys
** are not ephemerons (Lua 5.1) the table's value would then hold its own
** key for ever; there its values are weak too, and a collection may take
** a kept wait, which only costs the next wait a new one.  Its entry in
** CTX_WAITS (weak values) stays too: only waits on the hub's list are
** looked up there.
*/
static void keepspare (lua_State *L, int idx, int self) {
  lqsem_Wait *wt = (lqsem_Wait *)lua_touserdata(L, idx);
  int top = lua_gettop(L);
  if (wt->kept)   /* restarted from the entry, which is still there */
    return;
  if (ctx_get(L, CTX_SPARE) == LUA_TTABLE && pushco(L, idx, self)) {
    lua_pushvalue(L, idx);
    lua_rawset(L, -3);   /* spare[co] = wait */
    wt->kept = 1;
  }
  lua_settop(L, top);
}


/*
** End a wait: tokens granted but not claimed go back to the semaphore
** (qsem_waiter_cancel), and the wait leaves the hub's list.  Once the
** cancel returned, notify cannot run for it any more: a pending waiter
** leaves the queue under the semaphore's lock, which notify holds while
** it runs.  The idle waiter stays in 'spare' until '__gc', and, if 'keep',
** the wait is kept for its coroutine's next one.  'self': L is the
** wait's coroutine (see pushco).  Idempotent.
**
** wait_end_core is the part that needs no Lua, all that drive51.lua's
** FFI path needs (lqsem_ffi_look): 1 if the wait was on (the caller
** forgets its coroutine), 0 if it had ended already.
*/
static int wait_end_core (lqsem_Wait *wt) {
  if (wt->w != NULL) {
    (void)qsem_waiter_cancel(wt->w);   /* always 0 */
    wt->spare = wt->w;
    wt->w = NULL;
  }
  if (wt->hub == NULL)
    return 0;
  /* 'queued' is read without the lock: notify, the only writer on
     another thread, is done with 'wt' once the cancel above returned
     (or the waiter never started); the others run on this state's
     thread.  The list itself is shared, so unlinking takes the lock. */
  if (wt->queued) {
    pthread_mutex_lock(&wt->hub->mu);
    hub_unlink(wt->hub, wt);
    pthread_mutex_unlock(&wt->hub->mu);
  }
  wt->hub = NULL;
  return 1;
}


static void wait_end (lua_State *L, lqsem_Wait *wt, int keep, int self) {
  if (wait_end_core(wt)) {
    if (!keep) {
      if (ctx_get(L, CTX_WAITS) == LUA_TTABLE) {
        lua_pushnil(L);
        lua_rawsetp(L, -2, wt);
      }
      lua_pop(L, 1);
    }
    unpark(L, 1, wt->kind, self);
    if (wt->polling)   /* its coroutine was closed while the glue's wait polled */
      cq_leave(L, 1);
    if (keep)
      keepspare(L, 1, self);
  }
}


/*
** '__close' (Lua 5.4: the acquire returned, failed, or its coroutine was
** closed) and the Lua 5.1 driver's end of a wait.
*/
static int lqsem_wait_finish (lua_State *L) {
  wait_end(L, towait(L), 1, 0);
  return 0;
}


/* '__gc': end the wait if nothing did, and free its waiter. */
static int lqsem_wait_gc (lua_State *L) {
  lqsem_Wait *wt = towait(L);
  wait_end(L, wt, 0, 0);
  qsem_waiter_free(wt->spare);
  wt->spare = NULL;
  return 0;
}


/* w:timeout(): seconds left before the deadline, or nil for none. */
static int lqsem_wait_timeout (lua_State *L) {
  pushleft(L, towait(L)->deadline);
  return 1;
}


static int lqsem_wait_pollfd (lua_State *L) {
  (void)towait(L);
  lua_pushinteger(L, gethub(L)->rfd);
  return 1;
}


static int lqsem_wait_events (lua_State *L) {
  (void)towait(L);
  lua_pushliteral(L, "r");
  return 1;
}


static int lqsem_wait_tostring (lua_State *L) {
  lqsem_Wait *wt = towait(L);
  lua_pushfstring(L, "qsem.Waiter (%s): %p", wt->w ? "waiting" : "done", (void *)wt);
  return 1;
}

/* }====================================================================== */


/* {======================================================================
** cqueues
** ======================================================================= */

#include "lqsem_cqueues_glue_lua.h"   /* lqsem_cqueues_glue_lua[]: cqueues_glue.lua, embedded */

static int lqsem_cqueues_drain (lua_State *L) {
  hub_drain(L, gethub(L), LQSEM_CQUEUES, 0, 0);
  return 1;
}


/*
** The glue's cqpoll(POLL, r [, timeout]): yield to the controller, as
** cqueues.poll does, to poll the condition r.c of the waiter record 'r'
** (and the timeout), unless r.woken says that a signal came since its
** last poll; then return at once.  In C so that no Lua code runs between
** that look and the yield: a debug hook runs between any two
** instructions of Lua code, and a release it made there would signal a
** condition that nobody polls yet (cqueues_glue.lua, wake).  Upvalues:
** the strings "woken" and "c", so that no key is made or hashed here.
*/
static int lqsem_cqueues_poll (lua_State *L) {
  int n = lua_isnoneornil(L, 3) ? 2 : 3;
  lua_settop(L, 3);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_rawget(L, 2);
  if (lua_toboolean(L, -1))
    return 0;
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_rawget(L, 2);
  lua_replace(L, 2);
  /* The controller reads what was yielded from the bottom of this frame
     (Lua 5.4), so the frame holds exactly that: POLL, r.c [, timeout]. */
  lua_settop(L, n);
  return lua_yield(L, n);
}


/* Push the glue's wait function, loading cqueues_glue.lua on first use. */
static void pushcqwait (lua_State *L, lqsem_Hub *h) {
  if (ctx_get(L, CTX_CQWAIT) == LUA_TFUNCTION)
    return;
  lua_pop(L, 1);
  if (luaL_loadbuffer(L, lqsem_cqueues_glue_lua, sizeof lqsem_cqueues_glue_lua - 1, "=qsem.cqueues") != 0)
    lua_error(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, "cqueues");
  lua_remove(L, -2);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "cqueues.condition");
  lua_call(L, 1, 1);
  pushfunc(L, lqsem_cqueues_drain);
  lua_pushinteger(L, h->rfd);
  lua_pushliteral(L, "woken");
  lua_pushliteral(L, "c");
  lua_pushcclosure(L, lqsem_cqueues_poll, 2);
  lua_call(L, 5, 4);   /* wait, wake, leave, prepare */
  ctx_set(L, CTX_CQPREP);
  ctx_set(L, CTX_CQLEAVE);
  ctx_set(L, CTX_CQWAKE);
  lua_pushvalue(L, -1);
  ctx_set(L, CTX_CQWAIT);
}


/*
** Signal the cqueues waits that a release of this state queued without
** arming the fd.  A wait leaves the hub's list before it is signalled; if
** signalling fails (memory), it goes back to the front, the fd is armed,
** and the dispatcher delivers it instead, so no wake-up is lost.
*/
static void wake_direct (lua_State *L, lqsem_Hub *h) {
  int top = lua_gettop(L);
  if (!lua_checkstack(L, 4) ||
      ctx_get(L, CTX_CQWAKE) != LUA_TFUNCTION ||
      ctx_get(L, CTX_WAITS) != LUA_TTABLE) {
    pthread_mutex_lock(&h->mu);
    hub_arm(h);
    pthread_mutex_unlock(&h->mu);
    lua_settop(L, top);
    return;
  }
  for (;;) {
    lqsem_Wait *wt;
    pthread_mutex_lock(&h->mu);
    for (wt = h->head; wt != NULL && wt->kind != LQSEM_CQUEUES; wt = wt->next)
      ;
    if (wt != NULL)
      hub_unlink(h, wt);
    pthread_mutex_unlock(&h->mu);
    if (wt == NULL)
      break;
    if (lua_rawgetp(L, top + 2, wt) != LUA_TUSERDATA) {
      lua_pop(L, 1);   /* being finalized: nobody to wake */
      continue;
    }
    lua_pushvalue(L, top + 1);
    lua_pushvalue(L, -2);   /* the wait stays below: alive until relinked */
    if (lua_pcall(L, 1, 0, 0) != 0) {
      pthread_mutex_lock(&h->mu);
      hub_requeue(h, wt);
      hub_arm(h);
      pthread_mutex_unlock(&h->mu);
      break;
    }
    lua_pop(L, 1);
  }
  lua_settop(L, top);
}

/* }====================================================================== */


/* {======================================================================
** Acquire, and waits in coroutines
** ======================================================================= */

/*
** Push cqueues.running, kept in the context once the program has loaded
** cqueues; 0, with nothing pushed, if it has not.
*/
static int pushcqrunning (lua_State *L) {
  int top = lua_gettop(L);
  if (ctx_get(L, CTX_CQRUN) == LUA_TFUNCTION)
    return 1;
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, "cqueues") != LUA_TTABLE ||
      lua_getfield(L, -1, "running") != LUA_TFUNCTION) {
    lua_settop(L, top);
    return 0;
  }
  lua_replace(L, top + 1);
  lua_settop(L, top + 1);
  lua_pushvalue(L, -1);
  ctx_set(L, CTX_CQRUN);
  return 1;
}


/*
** How a wait in the running coroutine must proceed.  A coroutine that no
** host claims blocks its OS thread like plain Lua code, so a coroutine used
** as a generator never hands its consumer a value of ours (docs/lua.md).
** Pushes one value: the cqueues controller that runs the coroutine (the
** glue's wait takes it, so it need not ask cqueues again), or nil.
*/
static int waitkind (lua_State *L) {
  int top = lua_gettop(L), kind = LQSEM_BLOCK;
  if (lua_isyieldable(L)) {
    if (ctx_get(L, CTX_HOSTED) == LUA_TTABLE) {
      lua_pushthread(L);
      if (lua_rawget(L, -2) != LUA_TNIL)
        kind = LQSEM_GENERIC;
    }
    lua_settop(L, top);
    /* cqueues, only if the program loaded it: its running() says whether
       this very coroutine is the one its controller resumed */
    if (kind == LQSEM_BLOCK && pushcqrunning(L)) {
      lua_call(L, 0, 2);
      if (!lua_isnil(L, -2) && lua_toboolean(L, -1)) {
        lua_pop(L, 1);   /* keep the controller */
        return LQSEM_CQUEUES;
      }
    }
  }
  lua_settop(L, top);
  lua_pushnil(L);
  return kind;
}


/*
** The value of acquire()/hold() once the tokens are ours: true, or the
** guard made beforehand at 'guard' (so a memory error cannot strand them).
*/
static int granted (lua_State *L, qsem_t *s, int64_t n, int guard) {
  if (guard == 0) {
    lua_pushboolean(L, 1);
    return 1;
  }
  guard_fill(L, guard, s, n);
  lua_pushvalue(L, guard);
  return 1;
}


/*
** One look at a cooperative wait.  0: the tokens are claimed; EINPROGRESS:
** nothing yet, ask the host again; else why it failed.  A resolution
** counts only once notify has said so (see lqsem_notify); until then,
** timing out cancels, and the cancel waits for an in-flight notify under
** the semaphore's lock.
*/
static int coop_look (lqsem_Wait *wt) {
  if (wt->w == NULL || wt->cancelled)   /* ended by '__close', '__gc' or qsem.cancel() */
    return LQSEM_ECANCELLED;
  if (atomic_load_explicit(&wt->notified, memory_order_acquire))
    return qsem_waiter_claim(wt->w);   /* 0 or ECANCELED */
  if (wt->deadline != QSEM_FOREVER && qsem_now_ns() >= wt->deadline) {
    (void)qsem_waiter_cancel(wt->w);   /* always 0; gives back a late grant */
    return ETIMEDOUT;
  }
  return EINPROGRESS;
}


/*
** The running coroutine's last finished wait, pushed, if its idle waiter
** is for 's' and 'n' (the count of a waiter is fixed at its creation);
** else NULL, with nothing pushed.  A wait taken keeps its entry in
** CTX_SPARE ('kept'): the coroutine waits on nothing else until it ends,
** and it is kept again then (keepspare).
*/
static lqsem_Wait *takespare (lua_State *L, qsem_t *s, int64_t n) {
  int top = lua_gettop(L);
  if (ctx_get(L, CTX_SPARE) == LUA_TTABLE) {
    lua_pushthread(L);
    if (lua_rawget(L, -2) == LUA_TUSERDATA) {
      lqsem_Wait *wt = (lqsem_Wait *)lua_touserdata(L, -1);
      if (wt->w == NULL && wt->spare != NULL && wt->s == s && wt->n == n) {
        lua_replace(L, top + 1);
        lua_settop(L, top + 1);
        return wt;
      }
      lua_pushthread(L);
      lua_pushnil(L);
      lua_rawset(L, -4);   /* spare[co] = nil: this wait is no longer spare */
      wt->kept = 0;
      /* a waiter for another semaphore or count: let it go now, so that it
         does not keep that semaphore's memory until the wait is collected */
      qsem_waiter_free(wt->spare);
      wt->spare = NULL;
    }
  }
  lua_settop(L, top);
  return NULL;
}


/*
** Make 'wt' a wait for 's' and 'n' afresh, keeping only what a kept wait
** carries over: its idle waiter ('spare', which '__gc' frees if anything
** after this fails) and 'kept'.  Then, once the caller has set 'wt->w',
** wait_begin queues it: qsem_waiter_start's result, a grant at once being
** claimed here (notify will not run for it).
*/
static void wait_reset (lqsem_Wait *wt, qsem_t *s, int64_t n, int64_t deadline, int kind,
                        int hold) {
  qsem_waiter_t *spare = wt->spare;
  int kept = wt->kept;
  memset(wt, 0, sizeof *wt);
  wt->spare = spare;
  wt->kept = kept;
  wt->s = s;
  wt->n = n;
  wt->deadline = deadline;
  wt->kind = kind;
  wt->hold = hold;
}

static int wait_begin (lqsem_Wait *wt) {
  int r = qsem_waiter_start(wt->w);
  if (r == 0)
    (void)qsem_waiter_claim(wt->w);   /* 0 here */
  return r;
}


/*
** Make the wait userdata at the top of the stack (or reuse the
** coroutine's last one), park the running
** coroutine on it, and queue its waiter.  The result of
** qsem_waiter_start: 0 (granted and claimed at once), EINPROGRESS, or why
** it failed.  The state keeps the coroutine until the wait ends (docs/lua.md,
** "The host protocol"): a host that drops its last reference to a parked
** coroutine still gets it back from qsem.ready().
*/
static int coop_park (lua_State *L, qsem_t *s, int64_t n, int64_t deadline, int hold, int kind) {
  lqsem_Hub *h = gethub(L);
  lqsem_Wait *wt = takespare(L, s, n);   /* the coroutine's last wait, pushed, or NULL */
  int fresh = wt == NULL;
  if (fresh) {
    wt = (lqsem_Wait *)lua_newuserdatauv(L, sizeof *wt, 1);
    memset(wt, 0, sizeof *wt);
    setmeta(L, CTX_WAITER);
  }
  int idx = lua_gettop(L);
  wait_reset(wt, s, n, deadline, kind, hold);   /* spare: an idle waiter for s and n, or NULL */
  if (fresh) {   /* a kept wait has both (keepspare) */
    lua_pushthread(L);   /* for qsem.ready() */
    lua_setiuservalue(L, idx, 1);
  }
  if (fresh) {
    ctx_get(L, CTX_WAITS);
    lua_pushvalue(L, idx);
    lua_rawsetp(L, -2, wt);
    lua_pop(L, 1);
  }
  ctx_get(L, parkedkey(kind));
  lua_pushthread(L);
  lua_pushvalue(L, idx);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  if (getctx(L)->ffi)
    byaddr(L, idx, kind, 1);
  wt->hub = h;
#if LQSEM_TBC
  lua_toclose(L, idx);
#endif
  if (wt->spare != NULL) {
    wt->w = wt->spare;
    wt->spare = NULL;
  }
  else
    wt->w = qsem_waiter_new(s, n, lqsem_notify, wt);
  if (wt->w == NULL)
    return luaL_error(L, "cannot create a waiter: %s", strerror(errno));
  return wait_begin(wt);
}


#if LQSEM_TBC

/*
** Lua 5.4: the wait continues in C.  The waiter userdata sits in a
** to-be-closed slot, so an error, a return, or coroutine.close() all end
** it through '__close'.  Either way unclaimed tokens go back
** (docs/contract.md, "Conservation").
*/
static int coop_step (lua_State *L, lua_KContext ctx);

/* Continuation of a cooperative wait, after a yield or a call that yielded. */
static int coop_k (lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  lua_settop(L, SLOT_WAIT);   /* drop what the host resumed us with */
  ((lqsem_Wait *)lua_touserdata(L, SLOT_WAIT))->polling = 0;   /* the glue left */
  return coop_step(L, ctx);
}


/* Finish the wait, or hand control to the host until something may have changed. */
static int coop_step (lua_State *L, lua_KContext ctx) {
  lqsem_Wait *wt = (lqsem_Wait *)lua_touserdata(L, SLOT_WAIT);
  int r = coop_look(wt);
  if (r == 0)
    return granted(L, wt->s, wt->n, wt->hold ? SLOT_GUARD : 0);
  if (r != EINPROGRESS)
    return failhold(L, wt->hold ? SLOT_GUARD : 0, r);
  if (wt->kind == LQSEM_GENERIC) {
    lua_pushlightuserdata(L, (void *)&lqsem_wait_sentinel);
    lua_pushvalue(L, SLOT_WAIT);
    return lua_yieldk(L, 2, ctx, coop_k);
  }
  pushcqwait(L, wt->hub);
  lua_pushvalue(L, SLOT_WAIT);
  pushleft(L, wt->deadline);
  lua_pushvalue(L, SLOT_CTL);
  wt->polling = 1;   /* until the glue's wait returns (coop_k) */
  lua_callk(L, 3, 0, ctx, coop_k);
  return coop_k(L, LUA_OK, ctx);
}


static int coop_start (lua_State *L, qsem_t *s, int64_t n, int64_t deadline, int hold, int kind) {
  int r = coop_park(L, s, n, deadline, hold, kind);   /* at SLOT_WAIT */
  if (r == 0)
    return granted(L, s, n, hold ? SLOT_GUARD : 0);
  if (r != EINPROGRESS)
    return failhold(L, hold ? SLOT_GUARD : 0, r);
  return coop_step(L, 0);
}

#else

/*
** Lua 5.1: a C function cannot go on after a yield, so acquire returns
** qsem.WAIT, the waiter and what to do first, and the driver in
** drive51.lua loops over lqsem_step() and ends the wait with its '__gc'
** function.  What to do first is what a step would say, without asking
** it (the tokens were not free a moment ago): true for a generic host
** (yield), else the glue's wait function, the seconds left and the
** controller that waitkind found.
*/
static int coop_start (lua_State *L, qsem_t *s, int64_t n, int64_t deadline, int hold, int kind) {
  int r = coop_park(L, s, n, deadline, hold, kind);   /* at SLOT_WAIT */
  if (r == 0) {
    pushfunc(L, lqsem_wait_finish);
    lua_pushvalue(L, SLOT_WAIT);
    lua_call(L, 1, 0);
    return granted(L, s, n, hold ? SLOT_GUARD : 0);
  }
  if (r != EINPROGRESS) {
    pushfunc(L, lqsem_wait_finish);
    lua_pushvalue(L, SLOT_WAIT);
    lua_call(L, 1, 0);
    return failhold(L, hold ? SLOT_GUARD : 0, r);
  }
  /* the steps make their own guards: this one's slot goes back now */
  if (hold)
    guard_unused(L, SLOT_GUARD);
  lqsem_Wait *wt = (lqsem_Wait *)lua_touserdata(L, SLOT_WAIT);
  lua_pushlightuserdata(L, (void *)&lqsem_wait_sentinel);
  lua_pushvalue(L, SLOT_WAIT);
  if (kind == LQSEM_GENERIC) {
    lua_pushboolean(L, 1);
    return 3;
  }
  pushcqwait(L, wt->hub);
  pushleft(L, deadline);
  lua_pushvalue(L, SLOT_CTL);
  wt->polling = 1;   /* as in lqsem_step */
  return 5;
}


/*
** step(w): true or a guard (granted), fail plus a message, or qsem.WAIT
** and, under cqueues, the glue's wait function and the seconds left.  A
** wait that is over ends here (wait_end), before step returns.
*/
static int lqsem_step (lua_State *L) {
  lqsem_Wait *wt = towait(L);
  lua_settop(L, 1);
  if (wt->hold)
    (void)newguard(L, getctx(L));   /* at 2, before any token is ours */
  int r = coop_look(wt);
  if (r != EINPROGRESS) {
    wait_end(L, wt, 1, 1);   /* here, which saves the driver a call of 'finish' */
    return r == 0 ? granted(L, wt->s, wt->n, wt->hold ? 2 : 0) : failhold(L, wt->hold ? 2 : 0, r);
  }
  if (wt->hold)
    guard_unused(L, 2);   /* not granted yet: the next step makes another */
  lua_pushlightuserdata(L, (void *)&lqsem_wait_sentinel);
  if (wt->kind == LQSEM_GENERIC)
    return 1;
  pushcqwait(L, wt->hub);
  pushleft(L, wt->deadline);
  wt->polling = 1;   /* from now on: the driver does not say when it returned */
  return 3;
}

#endif


/*
** A signal handler ran while acquire blocked.  The standalone
** interpreter's SIGINT handler sets a hook that raises "interrupted!" at
** the next call: make one, so that Ctrl-C stops a blocked acquire, with
** no token taken.  From Lua 5.2 on hooks are per thread, and lua.c sets
** it on the main thread only: a wait in another coroutine, which has no
** hook of its own, borrows the main thread's for that call (LuaJIT's
** hooks are the state's).  A hook that did not raise is given back; the
** interpreter's, which raised, cleared itself here, and stays set on the
** main thread, which raises "interrupted!" too once it runs again, as it
** does for any Ctrl-C while a coroutine runs.
*/
static void interrupted (lua_State *L) {
#if LUA_VERSION_NUM >= 502
  int borrowed = 0;
  if (lua_gethook(L) == NULL) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    lua_State *m = lua_tothread(L, -1);
    lua_pop(L, 1);
    if (m != NULL && m != L && lua_gethook(m) != NULL) {
      lua_sethook(L, lua_gethook(m), lua_gethookmask(m), lua_gethookcount(m));
      borrowed = 1;
    }
  }
#endif
  pushfunc(L, lqsem_waiting);
  lua_pushvalue(L, 1);
  lua_call(L, 1, 0);
#if LUA_VERSION_NUM >= 502
  if (borrowed)
    lua_sethook(L, NULL, 0, 0);
#endif
}


/*
** acquire([n [, timeout]]) and hold(n [, timeout]).  Try once; if that
** fails and the timeout allows, wait: blocking the OS thread, or
** cooperatively in a hosted coroutine.
*/
static int acquire_common (lua_State *L, int hold) {
  lqsem_Ctx *c = getctx(L);   /* once: each fetch is a call through the API */
  qsem_t *s = checksemc(L, c);
  int64_t n = optcount(L, 2);
  int64_t timeout = opttimeout(L, 3);
  checkfits(L, s, n, 2);
  lua_settop(L, 3);
  lqsem_Guard *g = NULL;
  if (hold)
    g = newguard(L, c);   /* at SLOT_GUARD, before any token is ours */
  else
    lua_pushnil(L);
  int r = qsem_try_acquire(s, n);
  if (r == 0) {
    if (g == NULL)
      return granted(L, s, n, 0);
    guard_fillc(c, g, s, n);
    return 1;   /* the guard, at the top */
  }
  if (r != EAGAIN || timeout == 0)
    return failhold(L, hold ? SLOT_GUARD : 0, r);
  int64_t deadline = qsem_deadline_after(timeout);
  int kind = waitkind(L);
  if (kind != LQSEM_BLOCK)
    return coop_start(L, s, n, deadline, hold, kind);
  for (;;) {
    r = qsem_acquire_until(s, n, deadline, QSEM_INTR);
    if (r != EINTR)
      break;
    interrupted(L);
  }
  if (r != 0)
    return failhold(L, hold ? SLOT_GUARD : 0, r);
  return granted(L, s, n, hold ? SLOT_GUARD : 0);
}


static int lqsem_acquire (lua_State *L) {
  return acquire_common(L, 0);
}


static int lqsem_hold (lua_State *L) {
  return acquire_common(L, 1);
}

/* }====================================================================== */


/* {======================================================================
** Generic coroutine hosts, and cancellation
** ======================================================================= */

/* qsem.hosted(co [, on]): mark (or unmark) a coroutine that a host runs. */
static int lqsem_hosted (lua_State *L) {
  luaL_checktype(L, 1, LUA_TTHREAD);
  int on = lua_isnoneornil(L, 2) ? 1 : (luaL_checktype(L, 2, LUA_TBOOLEAN), lua_toboolean(L, 2));
  if (ctx_get(L, CTX_HOSTED) != LUA_TTABLE) {
    lua_pop(L, 1);
    newweaktable(L, "k");
    lua_pushvalue(L, -1);
    ctx_set(L, CTX_HOSTED);
  }
  lua_pushvalue(L, 1);
  if (on) lua_pushboolean(L, 1); else lua_pushnil(L);
  lua_rawset(L, -3);
  lua_settop(L, 1);
  return 1;
}


/*
** qsem.cancel(co): end the wait of the parked coroutine 'co'.  Tokens
** granted but not claimed go back to the semaphore; the coroutine is
** listed by qsem.ready() (or, under cqueues, woken) and its acquire
** returns fail, "cancelled".  true, or false if 'co' was not waiting.
*/
static int lqsem_cancel (lua_State *L) {
  luaL_checktype(L, 1, LUA_TTHREAD);
  lua_settop(L, 1);
  lqsem_Wait *wt = NULL;
  for (int kind = LQSEM_GENERIC; kind <= LQSEM_CQUEUES && wt == NULL; kind++) {
    if (ctx_get(L, parkedkey(kind)) == LUA_TTABLE) {
      lua_pushvalue(L, 1);
      lua_rawget(L, -2);
      wt = (lqsem_Wait *)testudata(L, getctx(L), -1, CTX_WAITER);
    }
    lua_settop(L, 1);
  }
  if (wt == NULL || wt->w == NULL || wt->cancelled) {
    lua_pushboolean(L, 0);
    return 1;
  }
  (void)qsem_waiter_cancel(wt->w);   /* always 0; after it, notify is done with 'wt' */
  lqsem_Hub *h = wt->hub;
  pthread_mutex_lock(&h->mu);
  wt->cancelled = 1;
  hub_enqueue(h, wt);
  if (wt->kind == LQSEM_CQUEUES)
    h->direct = 1;
  else
    hub_arm(h);
  pthread_mutex_unlock(&h->mu);
  if (wt->kind == LQSEM_CQUEUES)
    wake_direct(L, h);
  lua_pushboolean(L, 1);
  return 1;
}


/*
** qsem.drains([on]): whether this state's generic host calls qsem.ready()
** before every poll of qsem.pollfd() (docs/lua.md, "The host protocol").
** If it does, a release made in this state leaves the waits it resolves
** on the ready list without making the fd readable: two system calls less
** per handoff.  Returns the setting.
*/
static int lqsem_drains (lua_State *L) {
  lqsem_Hub *h = gethub(L);
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TBOOLEAN);
    pthread_mutex_lock(&h->mu);
    h->drains = lua_toboolean(L, 1);
    if (!h->drains && h->head != NULL)
      hub_arm(h);   /* what a release left quiet must now show on the fd */
    pthread_mutex_unlock(&h->mu);
  }
  lua_pushboolean(L, h->drains);
  return 1;
}


static int lqsem_pollfd (lua_State *L) {
  lua_pushinteger(L, gethub(L)->rfd);
  return 1;
}


/*
** qsem.ready([t]): the coroutines whose waits were resolved since last
** asked, as a new array, or appended to the host's own table 't' (its run
** queue, say), which is returned: no table to make and collect per call.
*/
static int lqsem_ready (lua_State *L) {
  int into = 0;
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TTABLE);
    into = 1;
  }
  hub_drain(L, gethub(L), LQSEM_GENERIC, 1, into);
  return 1;
}

/* }====================================================================== */
