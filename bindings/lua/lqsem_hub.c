/* SPDX-License-Identifier: MIT */
/*
** lqsem_hub.c: the per-state hub (part of lqsem.c, which includes it).
**
** Every Lua state has one hub: a notification fd (eventfd, or a pipe where
** there is none) and the list of its waits that were resolved.  The
** semaphore's notify callback runs on the releasing thread, which may be
** another OS thread with another Lua state, so it touches only the hub,
** under the hub's mutex, and never the Lua state.
**
** A release made by the waiting coroutine's own state (the usual case:
** coroutines of one host handing tokens to each other) skips the fd:
** notify only queues the wait, and the release, once the core has
** returned, wakes each wait itself (release_direct).  That saves an fd
** write, its reads and a host wake-up per handoff.
*/


/*
** The hub of the Lua state whose release() is running on this thread, or
** NULL.  A notify that finds its own hub here runs inside that release,
** on the thread that owns the state, so it may leave the wake-up to the
** release instead of the fd.
*/
static _Thread_local lqsem_Hub *lqsem_releasing;


/* Under h->mu: count 'wt' in or out ('d') of the waits of its kind. */
static void hub_count (lqsem_Hub *h, lqsem_Wait *wt, int d) {
  atomic_store_explicit(&h->nqueued[wt->kind],
                        atomic_load_explicit(&h->nqueued[wt->kind], memory_order_relaxed) + d,
                        memory_order_relaxed);
}


/* Under h->mu: put 'wt' at the end of the resolved waits, once. */
static void hub_enqueue (lqsem_Hub *h, lqsem_Wait *wt) {
  if (!wt->queued) {
    hub_count(h, wt, 1);
    wt->queued = 1;
    wt->next = NULL;
    wt->prev = h->tail;
    if (h->tail) h->tail->next = wt; else h->head = wt;
    h->tail = wt;
  }
}


/* Under h->mu: put 'wt' back at the front, to be delivered first. */
static void hub_requeue (lqsem_Hub *h, lqsem_Wait *wt) {
  hub_count(h, wt, 1);
  wt->queued = 1;
  wt->prev = NULL;
  wt->next = h->head;
  if (h->head) h->head->prev = wt; else h->tail = wt;
  h->head = wt;
}


static void hub_unlink (lqsem_Hub *h, lqsem_Wait *wt) {
  hub_count(h, wt, -1);
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
** arms the fd.  'notified', stored last, is the owner's evidence that
** notify is done with 'wt': the core calls notify after it has published
** the result, so an owner that trusted qsem_waiter_result() alone could
** free 'wt' under notify's feet.  Release order, paired with coop_look's
** acquire load: an owner that sees it also sees the wait queued.
*/
static void lqsem_notify (void *arg) {
  lqsem_Wait *wt = (lqsem_Wait *)arg;
  lqsem_Hub *h = wt->hub;
  pthread_mutex_lock(&h->mu);
  hub_enqueue(h, wt);
  /* A release of this very state wakes its cqueues waits itself; its
     generic waits wait on the list for qsem.ready() if the host said it
     drains before it polls.  Anything else needs the fd. */
  if (h != lqsem_releasing)
    hub_arm(h);
  else if (wt->kind == LQSEM_CQUEUES)
    h->direct = 1;
  else if (!h->drains)
    hub_arm(h);
  atomic_store_explicit(&wt->notified, 1, memory_order_release);
  pthread_mutex_unlock(&h->mu);   /* touches the hub, which outlives 'wt' */
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
** The state's hub, created on first use.  It lives in the context until
** lua_close; because it is created (and marked for finalization) before
** any wait that points to it, lua_close finalizes those waits first.
*/
static lqsem_Hub *gethub (lua_State *L) {
  lqsem_Ctx *c = getctx(L);
  if (c->hub != NULL)
    return c->hub;
  lqsem_Hub *h = (lqsem_Hub *)lua_newuserdatauv(L, sizeof *h, 0);
  memset(h, 0, sizeof *h);
  h->rfd = h->wfd = -1;   /* consistent for hub_gc if what follows fails */
  int err = hub_openfd(h);
  if (err != 0)
    luaL_error(L, "cannot create the notification fd: %s", strerror(err));
  pthread_mutex_init(&h->mu, NULL);
  luaL_getmetatable(L, LQSEM_HUB);
  lua_setmetatable(L, -2);
  ctx_set(L, CTX_HUB);
  /* waits by address, so that a drain can push the userdata of each */
  newweaktable(L, "v");
  ctx_set(L, CTX_WAITS);
  /* parked coroutines of generic hosts, held until resumed or cancelled
     (docs/lua.md); those of cqueues, which holds them itself, so that a
     controller dropped with its coroutines takes their waits along.
     Lua 5.1's weak keys are not ephemerons: the wait, which keeps its
     coroutine, would keep the key for ever, and the coroutine's stack its
     controller; there the values are weak too.  A parked wait stays alive
     while its coroutine does: the 5.1 driver's loop holds it on the
     coroutine's stack (drive51.lua, 'loop'). */
  lua_newtable(L);
  ctx_set(L, CTX_PARKED);
  newweaktable(L, LUA_VERSION_NUM < 502 ? "kv" : "k");
  ctx_set(L, CTX_CQPARKED);
  /* each coroutine's last finished wait, kept for its next one (Lua 5.1:
     weak values too, see keepspare) */
  newweaktable(L, LUA_VERSION_NUM < 502 ? "kv" : "k");
  ctx_set(L, CTX_SPARE);
  if (c->ffi) {
    /* drive51.lua's view of the parked waits, and of the marks
       of qsem.hosted(), which it reads to take a wait of its own */
    lua_newtable(L);
    ctx_set(L, CTX_BYADDR);
    /* cqueues keeps its waits' coroutines, and so the waits: weak here */
    newweaktable(L, "v");
    ctx_set(L, CTX_CQBYADDR);
    if (ctx_get(L, CTX_HOSTED) != LUA_TTABLE) {
      newweaktable(L, "k");
      ctx_set(L, CTX_HOSTED);
    }
    lua_pop(L, 1);
  }
  c->hub = h;   /* last: the hub is complete */
  return h;
}


/*
** Take the resolved waits of one kind off the hub and push them as an
** array of waiter userdata, or of their coroutines if 'threads': a new
** array, or, if 'into' is not 0, the table at 'into' with them appended
** after its border.  Nothing under the mutex may raise or run a finalizer
** (a finalizer of a wait takes the mutex), so the slots are made first,
** for as many waits as the count read without the lock says (a new array
** is sized; a given table gets placeholders, and those left over are
** cleared after), and filled without allocating.  Waits that the count
** missed stay listed, and the fd stays readable while waits remain, so
** they are not lost, and the host of the other kind still gets its
** wake-up.
*/
static void hub_drain (lua_State *L, lqsem_Hub *h, int kind, int threads, int into) {
  int n = atomic_load_explicit(&h->nqueued[kind], memory_order_relaxed), i = 0;
  lqsem_Wait *wt;
  lua_Integer base = 0;
  if (into == 0)
    lua_createtable(L, n, 0);
  else {
    lua_pushvalue(L, into);
    base = (lua_Integer)lua_rawlen(L, -1);
    for (int k = 1; k <= n; k++) {   /* may allocate: outside the mutex */
      lua_pushboolean(L, 0);
      lua_rawseti(L, -2, base + k);
    }
  }
  int t = lua_gettop(L);
  ctx_get(L, CTX_WAITS);
  luaL_checkstack(L, 2, NULL);
  pthread_mutex_lock(&h->mu);
  hub_disarm(h);
  wt = h->head;
  while (wt != NULL && i < n) {
    lqsem_Wait *next = wt->next;
    if (wt->kind == kind) {
      hub_unlink(h, wt);
      if (lua_rawgetp(L, t + 1, wt) == LUA_TUSERDATA && threads) {
        lua_getiuservalue(L, -1, 1);   /* the waiting coroutine */
        lua_remove(L, -2);
      }
      if (!lua_isnil(L, -1))
        lua_rawseti(L, t, base + ++i);   /* a slot made above: no allocation */
      else
        lua_pop(L, 1);                   /* being finalized: nobody to wake */
    }
    wt = next;
  }
  if (h->head != NULL)
    hub_arm(h);
  pthread_mutex_unlock(&h->mu);
  lua_pop(L, 1);
  while (i < n) {   /* placeholders of waits that left meanwhile */
    lua_pushnil(L);
    lua_rawseti(L, t, base + n--);
  }
}


/*
** qsem_release from this state.  Only a state with a wait on 's' can be
** notified by it, and this state cannot start one while it runs this
** call, so a release that finds nobody waiting skips the hub.
*/
static int release_direct (lua_State *L, qsem_t *s, int64_t n) {
  lqsem_Hub *h = qsem_waiting(s) > 0 ? getctx(L)->hub : NULL;
  if (h == NULL)   /* lqsem_releasing is NULL already: spare the TLS accesses */
    return qsem_release(s, n);
  lqsem_releasing = h;
  int r = qsem_release(s, n);
  lqsem_releasing = NULL;
  /* 'direct' needs no lock here: only a notify inside this very release
     (lqsem_releasing, this thread) or qsem.cancel() of this state sets it,
     both on the thread that runs this state */
  if (h->direct) {
    h->direct = 0;
    wake_direct(L, h);
  }
  return r;
}
