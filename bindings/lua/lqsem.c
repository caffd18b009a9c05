/*
** lqsem.c: the Lua 5.4 front end of qsem (`local qsem = require "qsem"`).
**
** A semaphore is a userdata holding one handle (qsem_ref) on the native
** object.  Outside a coroutine, a wait blocks the OS thread.  Inside a
** coroutine run by a host scheduler, a wait becomes an async waiter
** (qsem_waiter_*) and the coroutine yields to its host instead:
**
**   - under cqueues the coroutine polls a per-wait condition variable with
**     its remaining timeout; one dispatcher coroutine per controller polls
**     the state's notification fd and signals the conditions of the waits
**     that were resolved;
**   - under any other host that marked the coroutine with qsem.hosted(), the
**     coroutine yields qsem.WAIT and a waiter object; the host polls
**     qsem.pollfd() and resumes what qsem.ready() returns (docs/lua.md).
**
** Every Lua state has one "hub": a notification fd (eventfd, or a pipe
** where there is none) and the list of its waits that were resolved.  The
** semaphore's notify callback runs on the releasing thread, which may be
** another OS thread with another Lua state, so it touches only the hub,
** under the hub's mutex, and never the Lua state.
**
** A release made by the waiting coroutine's own state (the usual case:
** coroutines of one controller handing tokens to each other) skips the fd:
** notify only queues the wait, and the release, once the core has
** returned, signals the condition of each cqueues wait itself.  That saves
** an fd write, its reads and a dispatcher wake-up per handoff.
*/

#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE   /* pipe2 */
#endif

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
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

#if LUA_VERSION_NUM < 504
#error "qsem needs Lua 5.4 (to-be-closed variables and lua_toclose)"
#endif

/* The one symbol the module exports (the build hides the rest). */
#if defined(__GNUC__)
#define LQSEM_API LUALIB_API __attribute__((visibility("default")))
#else
#define LQSEM_API LUALIB_API
#endif

/* Metatable names: luaL_checkudata errors name the expected type. */
#define LQSEM_SEMAPHORE "qsem.Semaphore"
#define LQSEM_GUARD     "qsem.Guard"
#define LQSEM_WAITER    "qsem.Waiter"
#define LQSEM_HUB       "qsem.Hub"

/* Registry keys, one per Lua state. */
#define LQSEM_HUBKEY    "qsem.hub"      /* the state's hub userdata */
#define LQSEM_WAITSKEY  "qsem.waits"    /* weak: lightuserdata -> live waiter */
#define LQSEM_HOSTEDKEY "qsem.hosted"   /* weak keys: coroutines of a generic host */
#define LQSEM_PARKEDKEY "qsem.parked"   /* strong: parked coroutine -> its waiter */
#define LQSEM_CQKEY     "qsem.cqueues"  /* the cqueues glue's wait function */
#define LQSEM_CQWAKEKEY "qsem.cqwake"   /* the glue's function that signals one wait */

/* How a wait that cannot be served at once proceeds. */
enum { LQSEM_BLOCK, LQSEM_GENERIC, LQSEM_CQUEUES };

/* Fixed stack slots of acquire()/hold() once they may wait. */
#define SLOT_GUARD 4
#define SLOT_WAIT  5

/* The sentinel that a waiting coroutine yields to a generic host. */
static const char lqsem_wait_sentinel = 0;


/* {======================================================================
** Hub: the per-state notification fd and the list of resolved waits
** ======================================================================= */

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
  // cqueues waits were queued without arming the fd: the releasing call
  // of this state wakes them (see lqsem_releasing)
  int direct;
} lqsem_Hub;

struct lqsem_Wait {
  // NULL once finished (the tokens were claimed or given back)
  qsem_waiter_t *w;
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
  // set by notify: the waiter is resolved and notify is done with this wait
  int notified;
  // on the hub's list (under hub->mu)
  int queued;
  // ended by qsem.cancel(): the acquire returns fail, "cancelled"
  int cancelled;
  lqsem_Wait *prev, *next;
};


/*
** The hub of the Lua state whose release() is running on this thread, or
** NULL.  A notify that finds its own hub here runs inside that release,
** on the thread that owns the state, so it may leave the wake-up to the
** release instead of the fd.
*/
static _Thread_local lqsem_Hub *lqsem_releasing;


/* Under h->mu: put 'wt' at the end of the resolved waits, once. */
static void hub_enqueue (lqsem_Hub *h, lqsem_Wait *wt) {
  if (!wt->queued) {
    wt->queued = 1;
    wt->next = NULL;
    wt->prev = h->tail;
    if (h->tail) h->tail->next = wt; else h->head = wt;
    h->tail = wt;
  }
}


static void hub_unlink (lqsem_Hub *h, lqsem_Wait *wt) {
  if (wt->prev) wt->prev->next = wt->next; else h->head = wt->next;
  if (wt->next) wt->next->prev = wt->prev; else h->tail = wt->prev;
  wt->prev = wt->next = NULL;
  wt->queued = 0;
}


/*
** Make the fd readable.  Errors are ignored on purpose: EAGAIN means the
** fd is already readable, which is all this is for.
*/
static void hub_arm (lqsem_Hub *h) {
  if (!h->armed) {
#if defined(__linux__)
    uint64_t one = 1;
    ssize_t r = write(h->wfd, &one, sizeof one);
#else
    char one = 1;
    ssize_t r = write(h->wfd, &one, 1);
#endif
    (void)r;
    h->armed = 1;
  }
}


static void hub_disarm (lqsem_Hub *h) {
  if (h->armed) {
    char buf[64];
    while (read(h->rfd, buf, sizeof buf) > 0)
      ;   /* an eventfd is emptied by one read; a pipe may hold several bytes */
    h->armed = 0;
  }
}


/*
** The semaphore's notify callback: runs on the releasing or closing
** thread with the semaphore's lock held, so it only queues the wait and
** arms the fd.  'notified' is written under hub->mu and is the owner's
** only evidence that notify is done with 'wt': the core calls notify
** after it has published the result, so an owner that trusted
** qsem_waiter_result() alone could free 'wt' under notify's feet.
*/
static void lqsem_notify (void *arg) {
  lqsem_Wait *wt = (lqsem_Wait *)arg;
  lqsem_Hub *h = wt->hub;
  pthread_mutex_lock(&h->mu);
  wt->notified = 1;
  hub_enqueue(h, wt);
  /* a generic host polls the fd, so its waits always arm it */
  if (h == lqsem_releasing && wt->kind == LQSEM_CQUEUES)
    h->direct = 1;
  else
    hub_arm(h);
  pthread_mutex_unlock(&h->mu);
}


static int hub_gc (lua_State *L) {
  lqsem_Hub *h = (lqsem_Hub *)luaL_checkudata(L, 1, LQSEM_HUB);
  if (h->rfd >= 0) {
    close(h->rfd);
    if (h->wfd != h->rfd) close(h->wfd);
    h->rfd = h->wfd = -1;
    pthread_mutex_destroy(&h->mu);
  }
  return 0;
}


static int hub_openfd (lqsem_Hub *h) {
#if defined(__linux__)
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return errno;
  h->rfd = h->wfd = fd;
#else
  int fds[2];
  if (pipe(fds) != 0) return errno;
  for (int i = 0; i < 2; i++) {
    fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
  }
  h->rfd = fds[0];
  h->wfd = fds[1];
#endif
  return 0;
}


/* Push a new table whose keys or values ('mode') are weak. */
static void newweaktable (lua_State *L, const char *mode) {
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushstring(L, mode);
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
}


/*
** The state's hub, created on first use.  It lives in the registry until
** lua_close; because it is created (and marked for finalization) before
** any wait that points to it, lua_close finalizes those waits first.
*/
static lqsem_Hub *gethub (lua_State *L) {
  lqsem_Hub *h;
  if (lua_getfield(L, LUA_REGISTRYINDEX, LQSEM_HUBKEY) == LUA_TUSERDATA) {
    h = (lqsem_Hub *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    return h;
  }
  lua_pop(L, 1);
  h = (lqsem_Hub *)lua_newuserdatauv(L, sizeof *h, 0);
  memset(h, 0, sizeof *h);
  h->rfd = h->wfd = -1;   /* consistent for hub_gc if what follows fails */
  int err = hub_openfd(h);
  if (err != 0)
    luaL_error(L, "cannot create the notification fd: %s", strerror(err));
  pthread_mutex_init(&h->mu, NULL);
  luaL_setmetatable(L, LQSEM_HUB);
  lua_setfield(L, LUA_REGISTRYINDEX, LQSEM_HUBKEY);
  /* waits by address, so that a drain can push the userdata of each */
  newweaktable(L, "v");
  lua_setfield(L, LUA_REGISTRYINDEX, LQSEM_WAITSKEY);
  /* parked coroutines, held until resumed or cancelled (docs/lua.md) */
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LQSEM_PARKEDKEY);
  return h;
}


/*
** Take the resolved waits of one kind off the hub and push them as an
** array of waiter userdata.  Nothing under the mutex may raise or run a
** finalizer (a finalizer of a wait takes the mutex), so the array is
** sized first and filled without allocating.  The fd stays readable while
** waits remain, so the host of the other kind still gets its wake-up.
*/
static void hub_drain (lua_State *L, lqsem_Hub *h, int kind) {
  int n = 0, i = 0;
  lqsem_Wait *wt;
  pthread_mutex_lock(&h->mu);
  for (wt = h->head; wt != NULL; wt = wt->next)
    n += (wt->kind == kind);
  pthread_mutex_unlock(&h->mu);
  lua_createtable(L, n, 0);
  int t = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LQSEM_WAITSKEY);
  luaL_checkstack(L, 2, NULL);
  pthread_mutex_lock(&h->mu);
  hub_disarm(h);
  wt = h->head;
  while (wt != NULL && i < n) {
    lqsem_Wait *next = wt->next;
    if (wt->kind == kind) {
      hub_unlink(h, wt);
      if (lua_rawgetp(L, t + 1, wt) == LUA_TUSERDATA)
        lua_rawseti(L, t, ++i);   /* within the array part: no allocation */
      else
        lua_pop(L, 1);            /* being finalized: nobody to wake */
    }
    wt = next;
  }
  if (h->head != NULL)
    hub_arm(h);
  pthread_mutex_unlock(&h->mu);
  lua_pop(L, 1);
}

/* }====================================================================== */

/* {======================================================================
** Arguments and results
** ======================================================================= */

/* A count at 'arg' (default 1): 0 .. QSEM_VALUE_MAX (docs/contract.md, "Semantics"). */
static int64_t optcount (lua_State *L, int arg) {
  lua_Integer n = luaL_optinteger(L, arg, 1);
  luaL_argcheck(L, n >= 0, arg, "negative count");
  luaL_argcheck(L, n <= QSEM_VALUE_MAX, arg, "count out of range");
  return (int64_t)n;
}


/*
** A timeout in seconds at 'arg' as nanoseconds; -1 for none (nil or
** math.huge).  A finite timeout too long for the clock (about 292 years)
** waits forever rather than overflow.
*/
static int64_t opttimeout (lua_State *L, int arg) {
  if (lua_isnoneornil(L, arg))
    return -1;
  lua_Number t = luaL_checknumber(L, arg);
  luaL_argcheck(L, !isnan(t), arg, "timeout is NaN");
  luaL_argcheck(L, t >= 0, arg, "negative timeout");
  if (t >= (lua_Number)INT64_MAX / 1e9)
    return -1;
  return (int64_t)(t * 1e9);
}


static int64_t todeadline (int64_t timeout_ns) {
  if (timeout_ns < 0)
    return QSEM_FOREVER;
  int64_t now = qsem_now_ns();
  return timeout_ns >= QSEM_FOREVER - now ? QSEM_FOREVER : now + timeout_ns;
}


/* An expected failure: fail plus a stable message (docs/contract.md, "Lua 5.4"). */
static int pushfail (lua_State *L, const char *what) {
  luaL_pushfail(L);
  lua_pushstring(L, what);
  return 2;
}


/* The result of an acquire that did not get its tokens. */
static int failresult (lua_State *L, int err) {
  switch (err) {
    case ETIMEDOUT: case EAGAIN: return pushfail(L, "timeout");
    case ECANCELED: return pushfail(L, "closed");
    case ENOMEM: return luaL_error(L, "not enough memory");
    default: return luaL_error(L, "qsem: unexpected result %d (%s)", err, qsem_strerror(err));
  }
}

/* }====================================================================== */


/* {======================================================================
** Semaphore handles
** ======================================================================= */

static int release_direct (lua_State *L, qsem_t *s, int64_t n);
static void wake_direct (lua_State *L, lqsem_Hub *h);

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
    lua_pushfstring(L, "count exceeds the maximum (%I)", (lua_Integer)qsem_max(s));
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
  lua_Integer initial = luaL_checkinteger(L, 1);
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
        lua_Integer m = lua_tointegerx(L, -1, &isint);
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
  else
    lua_pushfstring(L, "qsem.Semaphore (%I/%I): %p", (lua_Integer)qsem_available(h->s),
                    (lua_Integer)qsem_max(h->s), (void *)h);
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
    lua_pushfstring(L, "count would pass the maximum (%I)", (lua_Integer)qsem_max(s));
    return luaL_argerror(L, 2, lua_tostring(L, -1));
  }
  if (r != 0)
    return luaL_error(L, "qsem: unexpected result %d (%s)", r, qsem_strerror(r));
  return 0;
}


static int lqsem_available (lua_State *L) {
  lua_pushinteger(L, (lua_Integer)qsem_available(checksem(L)));
  return 1;
}


static int lqsem_waiting (lua_State *L) {
  lua_pushinteger(L, (lua_Integer)qsem_waiting(checksem(L)));
  return 1;
}


static int lqsem_max (lua_State *L) {
  lua_pushinteger(L, (lua_Integer)qsem_max(checksem(L)));
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

typedef struct lqsem_Guard {
  // a handle of its own, so the guard outlives the semaphore's userdata;
  // NULL until the tokens are taken and once they are given back
  qsem_t *s;
  // the tokens it gives back
  int64_t n;
} lqsem_Guard;

#define toguard(L)  ((lqsem_Guard *)luaL_checkudata(L, 1, LQSEM_GUARD))


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
  return luaL_error(L, "qsem: unexpected result %d (%s)", r, qsem_strerror(r));
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
  lua_pushinteger(L, g->s ? (lua_Integer)g->n : 0);
  return 1;
}


static int lqsem_guard_tostring (lua_State *L) {
  lqsem_Guard *g = toguard(L);
  if (g->s == NULL)
    lua_pushfstring(L, "qsem.Guard (released): %p", (void *)g);
  else
    lua_pushfstring(L, "qsem.Guard (%I held): %p", (lua_Integer)g->n, (void *)g);
  return 1;
}

/* }====================================================================== */


/* {======================================================================
** Waits in coroutines
** ======================================================================= */

#define towait(L)  ((lqsem_Wait *)luaL_checkudata(L, 1, LQSEM_WAITER))


/*
** Forget the parked coroutine of the wait at 'idx', if it is still this
** wait's: the coroutine is again only its host's to keep.
*/
static void unpark (lua_State *L, int idx) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, LQSEM_PARKEDKEY) != LUA_TTABLE ||
      lua_getiuservalue(L, idx, 1) != LUA_TTHREAD) {
    lua_pop(L, 2);
    return;
  }
  lua_pushvalue(L, -1);
  if (lua_rawget(L, -3) == LUA_TUSERDATA && lua_rawequal(L, -1, idx)) {
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_rawset(L, -3);   /* parked[co] = nil */
    lua_pop(L, 1);
  }
  else
    lua_pop(L, 3);
}


/*
** End a wait for good: tokens granted but not claimed go back to the
** semaphore (qsem_waiter_free cancels), and the wait leaves the hub's
** list.  Once qsem_waiter_free returned, notify cannot run for it any
** more: a pending waiter leaves the queue under the semaphore's lock,
** which notify holds while it runs.  Shared by '__close' (the acquire
** returned, failed, or its coroutine was closed) and '__gc' (the
** coroutine was abandoned and collected).
*/
static int lqsem_wait_finish (lua_State *L) {
  lqsem_Wait *wt = towait(L);
  if (wt->w != NULL) {
    qsem_waiter_free(wt->w);
    wt->w = NULL;
  }
  if (wt->hub != NULL) {
    pthread_mutex_lock(&wt->hub->mu);
    if (wt->queued)
      hub_unlink(wt->hub, wt);
    pthread_mutex_unlock(&wt->hub->mu);
    lua_getfield(L, LUA_REGISTRYINDEX, LQSEM_WAITSKEY);
    if (lua_istable(L, -1)) {
      lua_pushnil(L);
      lua_rawsetp(L, -2, wt);
    }
    unpark(L, 1);
    wt->hub = NULL;
  }
  return 0;
}


/* Seconds left before the deadline, or nil for no deadline. */
static int lqsem_wait_timeout (lua_State *L) {
  lqsem_Wait *wt = towait(L);
  if (wt->deadline == QSEM_FOREVER) {
    lua_pushnil(L);
    return 1;
  }
  int64_t left = wt->deadline - qsem_now_ns();
  lua_pushnumber(L, left > 0 ? (lua_Number)left / 1e9 : 0.0);
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


/*
** How a wait in the running coroutine must proceed.  A coroutine that no
** host claims blocks its OS thread like plain Lua code, so a coroutine used
** as a generator never hands its consumer a value of ours (docs/lua.md).
*/
static int waitkind (lua_State *L) {
  if (!lua_isyieldable(L))
    return LQSEM_BLOCK;
  if (lua_getfield(L, LUA_REGISTRYINDEX, LQSEM_HOSTEDKEY) == LUA_TTABLE) {
    lua_pushthread(L);
    int hosted = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    if (hosted)
      return LQSEM_GENERIC;
  }
  else
    lua_pop(L, 1);
  /* cqueues, only if the program loaded it: its running() says whether this
     very coroutine is the one its controller resumed */
  int kind = LQSEM_BLOCK;
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, "cqueues") == LUA_TTABLE &&
      lua_getfield(L, -1, "running") == LUA_TFUNCTION) {
    lua_call(L, 0, 2);
    if (!lua_isnil(L, -2) && lua_toboolean(L, -1))
      kind = LQSEM_CQUEUES;
  }
  lua_settop(L, SLOT_GUARD);
  return kind;
}


/* Embedded glue for cqueues; see the file's header. */
static const char lqsem_cqueues_glue[] =
  "local cqueues, condition, drain, hubfd = ...\n"
  "local running, poll = cqueues.running, cqueues.poll\n"
  "local hub = { pollfd = function () return hubfd end,\n"
  "              events = function () return 'r' end }\n"
  "local conds = setmetatable({}, { __mode = 'k' })\n"
  "local loops = setmetatable({}, { __mode = 'k' })\n"
  "local spare = {}\n"
  /* One dispatcher per controller while any of its coroutines waits:
     it turns the state's fd into signals on the conditions that were
     resolved, and leaves when nobody waits, so cq:loop() can finish. */
  "local function dispatch (ctl, d)\n"
  "  while d.n > 0 do\n"
  "    poll(hub, d.wake)\n"
  "    local ws = drain()\n"
  "    for i = 1, #ws do\n"
  "      local c = conds[ws[i]]\n"
  "      if c then c:signal() end\n"
  "    end\n"
  "  end\n"
  "  if loops[ctl] == d then loops[ctl] = nil end\n"
  "end\n"
  /* the wait, and the direct wake-up of one wait (release_direct) */
  "return function (w, timeout)\n"
  "  local ctl = running()\n"
  "  local d = loops[ctl]\n"
  "  if d == nil then\n"
  "    d = { n = 0, wake = condition.new() }\n"
  "    d.leave = setmetatable({}, { __close = function ()\n"
  "      d.n = d.n - 1\n"
  "      if d.n == 0 then d.wake:signal() end\n"
  "    end })\n"
  "    loops[ctl] = d\n"
  "    ctl:wrap(dispatch, ctl, d)\n"
  "  end\n"
  /* A condition serves one wait until its poll returns, then goes back
     to 'spare': from then until this coroutine polls again nothing can
     signal it (a state runs one coroutine at a time), and a wait that
     polls again takes one afresh.  Saves making and collecting a
     condition per wait. */
  "  local c = conds[w]\n"
  "  if c == nil then\n"
  "    local k = #spare\n"
  "    if k > 0 then c = spare[k]; spare[k] = nil else c = condition.new() end\n"
  "    conds[w] = c\n"
  "  end\n"
  "  d.n = d.n + 1\n"
  "  local _ <close> = d.leave\n"
  "  if timeout then poll(c, timeout) else poll(c) end\n"
  "  conds[w] = nil\n"
  "  if #spare < 64 then spare[#spare + 1] = c end\n"
  "end, function (w)\n"
  "  local c = conds[w]\n"
  "  if c then c:signal() end\n"
  "end\n";


static int lqsem_cqueues_drain (lua_State *L) {
  hub_drain(L, (lqsem_Hub *)lua_touserdata(L, lua_upvalueindex(1)), LQSEM_CQUEUES);
  return 1;
}


/* Push the glue's wait function, building it on first use. */
static void pushcqwait (lua_State *L, lqsem_Hub *h) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, LQSEM_CQKEY) == LUA_TFUNCTION)
    return;
  lua_pop(L, 1);
  if (luaL_loadbuffer(L, lqsem_cqueues_glue, sizeof lqsem_cqueues_glue - 1, "=qsem.cqueues") != LUA_OK)
    lua_error(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, "cqueues");
  lua_remove(L, -2);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "cqueues.condition");
  lua_call(L, 1, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, LQSEM_HUBKEY);
  lua_pushcclosure(L, lqsem_cqueues_drain, 1);
  lua_pushinteger(L, h->rfd);
  lua_call(L, 4, 2);
  lua_setfield(L, LUA_REGISTRYINDEX, LQSEM_CQWAKEKEY);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, LQSEM_CQKEY);
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
      lua_getfield(L, LUA_REGISTRYINDEX, LQSEM_CQWAKEKEY) != LUA_TFUNCTION ||
      lua_getfield(L, LUA_REGISTRYINDEX, LQSEM_WAITSKEY) != LUA_TTABLE) {
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
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
      pthread_mutex_lock(&h->mu);
      wt->queued = 1;
      wt->prev = NULL;
      wt->next = h->head;
      if (h->head) h->head->prev = wt; else h->tail = wt;
      h->head = wt;
      hub_arm(h);
      pthread_mutex_unlock(&h->mu);
      break;
    }
    lua_pop(L, 1);
  }
  lua_settop(L, top);
}


/*
** qsem_release from this state.  Only a state with a wait on 's' can be
** notified by it, and this state cannot start one while it runs this
** call, so a release that finds nobody waiting skips the hub.
*/
static int release_direct (lua_State *L, qsem_t *s, int64_t n) {
  lqsem_Hub *h = NULL;
  if (qsem_waiting(s) > 0) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, LQSEM_HUBKEY) == LUA_TUSERDATA)
      h = (lqsem_Hub *)lua_touserdata(L, -1);
    lua_pop(L, 1);
  }
  lqsem_releasing = h;
  int r = qsem_release(s, n);
  lqsem_releasing = NULL;
  if (h != NULL) {
    pthread_mutex_lock(&h->mu);
    int direct = h->direct;
    h->direct = 0;
    pthread_mutex_unlock(&h->mu);
    if (direct)
      wake_direct(L, h);
  }
  return r;
}


/* The value of acquire()/hold() once the tokens are ours. */
static int granted (lua_State *L, qsem_t *s, int64_t n, int hold) {
  if (!hold) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lqsem_Guard *g = (lqsem_Guard *)lua_touserdata(L, SLOT_GUARD);
  g->s = qsem_ref(s);
  g->n = n;
  lua_pushvalue(L, SLOT_GUARD);
  return 1;
}


static int coop_step (lua_State *L, lua_KContext ctx);

/* Continuation of a cooperative wait, after a yield or a call that yielded. */
static int coop_k (lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  lua_settop(L, SLOT_WAIT);   /* drop what the host resumed us with */
  return coop_step(L, ctx);
}


/*
** One look at a cooperative wait: finish it, or hand control to the host
** until something may have changed.  A resolution counts only once notify
** has said so (see lqsem_notify); until then, timing out cancels, and the
** cancel waits for an in-flight notify under the semaphore's lock.
*/
static int coop_step (lua_State *L, lua_KContext ctx) {
  int hold = (int)(ctx & 1), kind = (int)(ctx >> 1);
  lqsem_Wait *wt = (lqsem_Wait *)lua_touserdata(L, SLOT_WAIT);
  if (wt->w == NULL || wt->cancelled)   /* ended by '__close', '__gc' or qsem.cancel() */
    return pushfail(L, "cancelled");
  pthread_mutex_lock(&wt->hub->mu);
  int notified = wt->notified;
  pthread_mutex_unlock(&wt->hub->mu);
  if (notified) {
    int r = qsem_waiter_claim(wt->w);
    if (r == 0)
      return granted(L, wt->s, wt->n, hold);
    return failresult(L, r);
  }
  if (wt->deadline != QSEM_FOREVER && qsem_now_ns() >= wt->deadline) {
    (void)qsem_waiter_cancel(wt->w);   /* always 0; gives back a late grant */
    return failresult(L, ETIMEDOUT);
  }
  if (kind == LQSEM_GENERIC) {
    lua_pushlightuserdata(L, (void *)&lqsem_wait_sentinel);
    lua_pushvalue(L, SLOT_WAIT);
    return lua_yieldk(L, 2, ctx, coop_k);
  }
  pushcqwait(L, wt->hub);
  lua_pushvalue(L, SLOT_WAIT);
  if (wt->deadline == QSEM_FOREVER)
    lua_pushnil(L);
  else {
    int64_t left = wt->deadline - qsem_now_ns();
    lua_pushnumber(L, left > 0 ? (lua_Number)left / 1e9 : 0.0);
  }
  lua_callk(L, 2, 0, ctx, coop_k);
  return coop_k(L, LUA_OK, ctx);
}


/*
** Start a cooperative wait.  The waiter userdata sits in a to-be-closed
** slot, so an error, a return, or coroutine.close() all end it through
** '__close'; a coroutine that is abandoned ends it through '__gc'.  Either
** way unclaimed tokens go back (docs/contract.md, "Token conservation").
*/
static int coop_start (lua_State *L, qsem_t *s, int64_t n, int64_t deadline, int hold, int kind) {
  lqsem_Hub *h = gethub(L);
  lqsem_Wait *wt = (lqsem_Wait *)lua_newuserdatauv(L, sizeof *wt, 1);
  memset(wt, 0, sizeof *wt);
  wt->s = s;
  wt->n = n;
  wt->deadline = deadline;
  wt->kind = kind;
  luaL_setmetatable(L, LQSEM_WAITER);
  lua_pushthread(L);   /* for qsem.ready() */
  lua_setiuservalue(L, SLOT_WAIT, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, LQSEM_WAITSKEY);
  lua_pushvalue(L, SLOT_WAIT);
  lua_rawsetp(L, -2, wt);
  lua_pop(L, 1);
  /* The state keeps the coroutine until the wait ends (docs/lua.md, "The
     host protocol"): a host that drops its last reference to a parked
     coroutine must still get it back from qsem.ready(). */
  lua_getfield(L, LUA_REGISTRYINDEX, LQSEM_PARKEDKEY);
  lua_pushthread(L);
  lua_pushvalue(L, SLOT_WAIT);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  wt->hub = h;
  lua_toclose(L, SLOT_WAIT);
  wt->w = qsem_waiter_new(s, n, lqsem_notify, wt);
  if (wt->w == NULL)
    return luaL_error(L, "cannot create a waiter: %s", strerror(errno));
  int r = qsem_waiter_start(wt->w);
  if (r == 0) {   /* granted at once, and notify will not run */
    (void)qsem_waiter_claim(wt->w);   /* 0 here */
    return granted(L, s, n, hold);
  }
  if (r != EINPROGRESS)
    return failresult(L, r);
  return coop_step(L, (lua_KContext)((kind << 1) | hold));
}


/*
** acquire([n [, timeout]]) and hold(n [, timeout]).  Try once; if that
** fails and the timeout allows, wait: blocking the OS thread, or
** cooperatively in a hosted coroutine.
*/
static int acquire_common (lua_State *L, int hold) {
  qsem_t *s = checksem(L);
  int64_t n = optcount(L, 2);
  int64_t timeout = opttimeout(L, 3);
  checkfits(L, s, n, 2);
  lua_settop(L, 3);
  if (hold) {
    /* made first, so a memory error cannot strand taken tokens */
    lqsem_Guard *g = (lqsem_Guard *)lua_newuserdatauv(L, sizeof *g, 0);
    g->s = NULL;
    g->n = 0;
    luaL_setmetatable(L, LQSEM_GUARD);
  }
  else
    lua_pushnil(L);
  int r = qsem_try_acquire(s, n);
  if (r == 0)
    return granted(L, s, n, hold);
  if (r != EAGAIN || timeout == 0)
    return failresult(L, r);
  int64_t deadline = todeadline(timeout);
  int kind = waitkind(L);
  if (kind != LQSEM_BLOCK)
    return coop_start(L, s, n, deadline, hold, kind);
  for (;;) {
    r = qsem_acquire_until(s, n, deadline, QSEM_INTR);
    if (r != EINTR)
      break;
    /* A signal handler ran.  The standalone interpreter's SIGINT handler
       sets a hook that raises "interrupted!" at the next call: make one,
       so Ctrl-C stops a blocked acquire; no token was taken. */
    lua_pushcfunction(L, lqsem_waiting);
    lua_pushvalue(L, 1);
    lua_call(L, 1, 0);
  }
  if (r != 0)
    return failresult(L, r);
  return granted(L, s, n, hold);
}


static int lqsem_acquire (lua_State *L) {
  return acquire_common(L, 0);
}


static int lqsem_hold (lua_State *L) {
  return acquire_common(L, 1);
}

/* }====================================================================== */


/* {======================================================================
** Generic coroutine hosts
** ======================================================================= */

/* qsem.hosted(co [, on]): mark (or unmark) a coroutine that a host runs. */
static int lqsem_hosted (lua_State *L) {
  luaL_checktype(L, 1, LUA_TTHREAD);
  int on = lua_isnoneornil(L, 2) ? 1 : (luaL_checktype(L, 2, LUA_TBOOLEAN), lua_toboolean(L, 2));
  if (lua_getfield(L, LUA_REGISTRYINDEX, LQSEM_HOSTEDKEY) != LUA_TTABLE) {
    lua_pop(L, 1);
    newweaktable(L, "k");
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, LQSEM_HOSTEDKEY);
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
  if (lua_getfield(L, LUA_REGISTRYINDEX, LQSEM_PARKEDKEY) != LUA_TTABLE) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushvalue(L, 1);
  lua_rawget(L, -2);
  lqsem_Wait *wt = (lqsem_Wait *)luaL_testudata(L, -1, LQSEM_WAITER);
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


static int lqsem_pollfd (lua_State *L) {
  lua_pushinteger(L, gethub(L)->rfd);
  return 1;
}


/* qsem.ready(): the coroutines whose waits were resolved since last asked. */
static int lqsem_ready (lua_State *L) {
  hub_drain(L, gethub(L), LQSEM_GENERIC);
  int t = lua_gettop(L);
  lua_Integer n = luaL_len(L, t);
  lua_createtable(L, (int)n, 0);
  int k = 0;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, t, i);
    lua_getiuservalue(L, -1, 1);
    lua_remove(L, -2);
    if (lua_isthread(L, -1))
      lua_rawseti(L, t + 1, ++k);
    else
      lua_pop(L, 1);
  }
  return 1;
}

/* }====================================================================== */


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
  {"__index", NULL},   /* placeholder: the method table */
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
  {"__index", NULL},
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
  {"__index", NULL},
  {"__gc", lqsem_wait_finish},
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


/* A metatable whose '__index' is a table of methods, as liolib's 'createmeta'. */
static void createmeta (lua_State *L, const char *name, const luaL_Reg *metameth,
                        const luaL_Reg *meths) {
  luaL_newmetatable(L, name);   /* also sets '__name' */
  luaL_setfuncs(L, metameth, 0);
  lua_newtable(L);
  luaL_setfuncs(L, meths, 0);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}


LQSEM_API int luaopen_qsem (lua_State *L) {
  (void)pthread_once(&lqsem_pinned, pin_library);
  createmeta(L, LQSEM_SEMAPHORE, lqsem_metameth, lqsem_meths);
  createmeta(L, LQSEM_GUARD, lqsem_guard_metameth, lqsem_guard_meths);
  createmeta(L, LQSEM_WAITER, lqsem_wait_metameth, lqsem_wait_meths);
  luaL_newmetatable(L, LQSEM_HUB);
  lua_pushcfunction(L, hub_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newlib(L, lqsem_funcs);
  lua_pushinteger(L, (lua_Integer)QSEM_VALUE_MAX);
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
