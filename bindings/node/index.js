// SPDX-License-Identifier: MIT
'use strict';
// qsem for Node.js: a counting semaphore whose waits are promises, shared
// across worker threads (docs/node.md).  The native addon (qsem_node.c)
// does the semaphore work; this file checks arguments, turns result codes
// into errors, and settles promises.

const path = require('node:path');
// Node's own timers, not the global setTimeout: a test runner's fake
// timers replace the global one (Jest's, per test file), and a wait's
// deadline is on the real monotonic clock, which a fake timer never
// reaches.  Node's own timeouts (AbortSignal.timeout) do the same.
const timers = require('node:timers');

const native = loadAddon();

function loadAddon() {
  const file = process.env.QSEM_NODE_ADDON || path.join(__dirname, 'build', 'qsem.node');
  try {
    return require(file);
  } catch (err) {
    if (err.code !== 'MODULE_NOT_FOUND' || process.env.QSEM_NODE_ADDON) throw err;
    // npm install --ignore-scripts (or a policy that skips install scripts)
    const e = new Error(`qsem's native addon is not built (${file} is missing): ` +
                        'run `npm rebuild qsem`, which builds it from the package\'s sources',
                        { cause: err });
    e.code = 'ERR_QSEM_NOT_BUILT';
    throw e;
  }
}

// setTimeout() fires at once for longer delays; longer waits re-arm.
const MAX_TIMER_MS = 2 ** 31 - 1;

// The result code of an abort, for errorFor(): index.js's own, below any
// errno value the addon returns.
const ABORTED = -1;

// {=====================================================================
// The engine: one per thread and addon, whatever the copies of this file
// =====================================================================
// The addon settles the waits of a thread through one dispatch(), given
// once (native.init).  Another copy of this file loaded in the same thread
// over the same addon (a test runner's module registry per test file, as
// Jest's, or a cleared require.cache) uses the first copy's engine, kept by
// the addon (native.serve/served), and makes its own classes and errors:
// in a realm of its own (Jest runs each test file in one), the errors it
// throws and the promises it returns are that realm's, as its caller
// expects (instanceof TypeError, instanceof Promise).

function makeEngine() {
  // Queued waits, settled by the native side through dispatch().
  // pending[id] = { resolve, reject, sem, timer, signal, errorFor } while
  // the wait `id` is queued; holding `sem` keeps the Semaphore (and its
  // handle) alive meanwhile, and `errorFor` makes its errors in the realm
  // of the copy that queued it.  An id is reused once its wait is settled: the
  // addon has forgotten it by then (it completes or cancels a wait before
  // telling us), so it can never name the wrong wait.  An array and a free
  // list, because a Map rehashes each time it empties and fills again.
  const pending = [];
  const freeIds = [];

  function newId() {
    return freeIds.length !== 0 ? freeIds.pop() : pending.push(null) - 1;
  }

  function forget(id, p) {
    pending[id] = null;
    freeIds.push(id);
    if (p.timer !== null) timers.clearTimeout(p.timer);
    if (p.signal !== undefined) unwatch(p.signal, id);
  }

  // The queued waits of each AbortSignal, in arrival order, and the one
  // 'abort' listener per signal however many waits share it (a listener
  // per wait would trip Node's MaxListenersExceededWarning past ten).  The
  // listener knows its signal: a signal made by hand may call it with no
  // event, as Node's own APIs allow.
  const bySignal = new WeakMap();

  // Queue the wait `id` on `signal`; throws what its addEventListener
  // throws, having queued nothing.  The entry is made first: a signal may
  // abort, and call the listener, while the listener is being added.
  function watch(signal, id) {
    let entry = bySignal.get(signal);
    if (entry !== undefined) {
      entry.ids.add(id);
      return;
    }
    entry = { ids: new Set([id]), listener: () => onAbort(signal) };
    bySignal.set(signal, entry);
    try {
      signal.addEventListener('abort', entry.listener, { once: true });
    } catch (err) {
      if (bySignal.get(signal) === entry) bySignal.delete(signal);
      throw err;
    }
    // Aborted while the listener was being added, without calling it.
    if (signal.aborted) onAbort(signal);
  }

  function unwatch(signal, id) {
    const entry = bySignal.get(signal);
    if (entry === undefined) return;  // aborting: onAbort has them
    entry.ids.delete(id);
    if (entry.ids.size === 0) {
      bySignal.delete(signal);
      try {
        signal.removeEventListener('abort', entry.listener);
      } catch (err) {
        // Settling a wait must not throw into the release() or close()
        // that settled it; the signal's error is reported as an
        // EventTarget reports a listener's, as an uncaught exception, on
        // Node's own timers (a test runner's fake ones may never run).
        timers.setImmediate(() => { throw err; });
      }
    }
  }

  // What an aborted wait rejects with: the signal's reason, or, for a
  // signal without one (a polyfill's), an AbortError as Node's own APIs
  // give, in the realm of `errorFor`'s copy.
  function abortReason(signal, errorFor) {
    const reason = signal.reason;
    return reason !== undefined ? reason : errorFor(ABORTED);
  }

  // End the queued wait `id` (forgotten by the caller) with nothing
  // taken: a grant that reached it first goes back.  False if the addon
  // had completed it already, its settling then on its way.
  function abandon(id) {
    const cancelled = native.cancel(id);
    if (done[0] !== 0) flush();
    return cancelled;
  }

  // An aborted wait has taken nothing, and a wait already settled is left
  // alone.
  function onAbort(signal) {
    const entry = bySignal.get(signal);
    if (entry === undefined) return;
    bySignal.delete(signal);
    for (const id of entry.ids) {
      const p = pending[id];
      if (p === undefined || p === null || p.signal !== signal) continue;
      forget(id, p);
      if (abandon(id)) p.reject(abortReason(signal, p.errorFor));
    }
  }

  function dispatch(id, code) {
    const p = pending[id];
    if (p === undefined || p === null) return;
    forget(id, p);
    if (code === 0) p.resolve();
    else p.reject(p.errorFor(code, 'n', 0));
  }

  // Waits completed by this thread's own release/close/cancel/expiry: the
  // addon writes [count, id, code, id, code, ...] here (cheaper than calling
  // dispatch), and the caller reads it as soon as the native call returns.
  // A grant from another thread, or one that does not fit, calls dispatch.
  const done = new Float64Array(new ArrayBuffer(8 * (1 + 2 * 64)));

  // The buffer is emptied before anything is settled: settling may run
  // code (a signal's removeEventListener) that releases, and so refills it.
  function flush() {
    const count = done[0];
    done[0] = 0;
    if (count === 1) {
      dispatch(done[1], done[2]);
      return;
    }
    const waits = done.slice(1, 1 + 2 * count);
    for (let k = 0; k < count; k++) dispatch(waits[2 * k], waits[2 * k + 1]);
  }

  // The hot calls' arguments and result: tryAcquire(), acquire() and
  // release() read [slot, n, id, timeout, guard] from here and leave their
  // result code in io[0], which spares a native call most of its cost
  // (reading napi_values and making one).  Filled right before each call.
  const io = new Float64Array(5);

  native.init(dispatch, done, io);

  // Re-arm the wait's timer until the native deadline has passed.
  function arm(id, p) {
    p.timer = null;
    const left = native.expire(id);
    if (done[0] !== 0) flush();
    if (left === 0) {
      forget(id, p);
      p.reject(p.errorFor(native.ETIMEDOUT));
    } else if (left > 0 && left !== Infinity) {
      p.timer = timers.setTimeout(arm, Math.min(left, MAX_TIMER_MS), id, p);
    }
  }

  const engine = { io, done, flush, pending, freeIds, newId, forget, watch, abandon, abortReason, arm };
  native.serve(engine);
  return engine;
}

// }=====================================================================

// {=====================================================================
// The API of this copy, in its realm, over the thread's engine
// =====================================================================

function makeApi(engine) {
  const { io, done, flush, pending, freeIds, newId, forget, watch, abandon, abortReason, arm } = engine;
  const IO_SLOT = 0, IO_N = 1, IO_ID = 2, IO_MS = 3, IO_GUARD = 4;   // io[] (see makeEngine)
  const { EAGAIN, EINPROGRESS } = native;

  const MAX_COUNT = Number.MAX_SAFE_INTEGER;
  const kHandle = Symbol('qsem.handle');
  const kDispose = Symbol.dispose || Symbol.for('nodejs.dispose');
  // What an acquire served at once returns: settled promises are immutable,
  // so one serves every call and saves an allocation per acquire.
  const RESOLVED = Promise.resolve();

  class TimeoutError extends Error {
    constructor(message = 'The operation timed out') {
      super(message);
      this.name = 'TimeoutError';
      this.code = 'ERR_QSEM_TIMEOUT';
    }
  }

  class ClosedError extends Error {
    constructor(message = 'The semaphore is closed') {
      super(message);
      this.name = 'ClosedError';
      this.code = 'ERR_QSEM_CLOSED';
    }
  }

  // What a signal without a reason aborts with, as Node's own AbortError.
  class AbortError extends Error {
    constructor(message = 'The operation was aborted') {
      super(message);
      this.name = 'AbortError';
      this.code = 'ABORT_ERR';
    }
  }

  // {=====================================================================
  // Argument checks, in Node's own wording (ERR_INVALID_ARG_TYPE, ...)
  // =====================================================================

  function describe(value) {
    if (value === null) return 'Received null';
    if (value === undefined) return 'Received undefined';
    if (typeof value === 'function') return `Received function ${value.name || '<anonymous>'}`;
    if (typeof value === 'object') {
      const name = value.constructor && value.constructor.name;
      return name ? `Received an instance of ${name}` : 'Received an object';
    }
    let shown = String(value);
    if (typeof value === 'string') shown = `'${value.length > 25 ? value.slice(0, 25) + '...' : value}'`;
    if (typeof value === 'bigint') shown += 'n';
    return `Received type ${typeof value} (${shown})`;
  }

  function typeError(name, expected, value) {
    const what = name.includes('.') ? 'property' : 'argument';
    const err = new TypeError(`The "${name}" ${what} must be ${expected}. ${describe(value)}`);
    err.code = 'ERR_INVALID_ARG_TYPE';
    return err;
  }

  function rangeError(name, expected, value, code = 'ERR_OUT_OF_RANGE') {
    const err = new RangeError(
      `The value of "${name}" is out of range. It must be ${expected}. Received ${value}`);
    err.code = code;
    return err;
  }

  // A count: an integer from 0 to Number.MAX_SAFE_INTEGER.
  function checkCount(name, value) {
    if (typeof value !== 'number') throw typeError(name, 'of type number', value);
    if (!Number.isInteger(value) || value < 0 || value > MAX_COUNT) {
      throw rangeError(name, `an integer >= 0 && <= ${MAX_COUNT}`, value);
    }
    return value;
  }

  const NO_OPTIONS = Object.freeze({});

  function checkOptions(name, value) {
    if (value === undefined) return NO_OPTIONS;
    if (value === null || typeof value !== 'object') throw typeError(name, 'of type object', value);
    return value;
  }

  // The one place where the timeout convention lives: milliseconds, undefined
  // or Infinity waits forever, 0 tries once, negative or NaN is a RangeError.
  // The native side turns it into a deadline with the core's helpers.
  function checkTimeout(value) {
    if (value === undefined) return Infinity;
    if (typeof value !== 'number') throw typeError('options.timeout', 'of type number', value);
    if (!(value >= 0)) throw rangeError('options.timeout', '>= 0', value);
    return value;
  }

  function checkSignal(value) {
    if (value === undefined) return undefined;
    // As Node's own APIs check it: any object with 'aborted' (a signal of
    // another realm, or of a polyfill), and the two methods a wait calls.
    if (value === null || typeof value !== 'object' || !('aborted' in value) ||
        typeof value.addEventListener !== 'function' ||
        typeof value.removeEventListener !== 'function') {
      throw typeError('options.signal', 'an instance of AbortSignal', value);
    }
    return value;
  }

  // The one place where result codes become errors.
  function errorFor(code, name, n) {
    switch (code) {
      case native.ETIMEDOUT: return new TimeoutError();
      case native.ECANCELED: return new ClosedError();
      case native.EINVAL: return rangeError(name, '<= the semaphore\'s max', n);
      case native.EOVERFLOW:
        return rangeError(name, 'at most the room left below the semaphore\'s max', n,
                          'ERR_QSEM_OVERFLOW');
      case native.ENOMEM: return new Error('qsem: out of memory');
      case ABORTED: return new AbortError();
      default: return new Error(`qsem: unexpected result ${code}`);
    }
  }

  // }=====================================================================

  // {=====================================================================
  // Semaphore and Guard
  // =====================================================================

  class Semaphore {
    // The native handle object: while it lives, this thread holds a handle.
    #h;
    // Its slot, the number every native call takes (cheaper than #h).
    #s;

    constructor(initial, options) {
      if (initial === kHandle) {  // Semaphore.from()
        this.#h = options;
        this.#s = native.slot(this.#h);
        return;
      }
      checkCount('initial', initial);
      options = checkOptions('options', options);
      let max = MAX_COUNT;
      if (options.max !== undefined) {
        max = checkCount('options.max', options.max);
        if (max < initial) throw rangeError('options.max', `>= initial (${initial})`, max);
      }
      const fair = options.fair === undefined ? false : options.fair;
      if (typeof fair !== 'boolean') throw typeError('options.fair', 'of type boolean', fair);
      this.#h = native.create(initial, max, fair);
      this.#s = native.slot(this.#h);
    }

    // A value for postMessage()/workerData that Semaphore.from() opens.
    share() {
      return { type: 'qsem.Semaphore', id: native.share(this.#s), key: native.registryKey };
    }

    static from(value) {
      if (value === null || typeof value !== 'object' || value.type !== 'qsem.Semaphore') {
        throw typeError('value', 'a value returned by share()', value);
      }
      checkCount('value.id', value.id);
      // Another copy of qsem in this process numbers its semaphores apart.
      if (value.key !== native.registryKey) {
        const err = new Error('The semaphore was shared by another copy of qsem');
        err.code = 'ERR_QSEM_FOREIGN';
        throw err;
      }
      const h = native.open(value.id);
      if (h === null) {
        const err = new Error('The shared semaphore no longer exists');
        err.code = 'ERR_QSEM_GONE';
        throw err;
      }
      return new Semaphore(kHandle, h);
    }

    tryAcquire(n = 1) {
      checkCount('n', n);
      io[IO_SLOT] = this.#s;
      io[IO_N] = n;
      native.tryAcquire();
      const code = io[0];
      if (code === 0) return true;
      if (code === EAGAIN) return false;
      throw errorFor(code, 'n', n);
    }

    acquire(n = 1, options = undefined) {
      // acquire() and acquire(n), the common calls, skip the option checks.
      if (options === undefined && Number.isInteger(n) && n >= 0 && n <= MAX_COUNT) {
        const id = freeIds.length !== 0 ? freeIds[freeIds.length - 1] : pending.length;
        io[IO_SLOT] = this.#s;
        io[IO_N] = n;
        io[IO_ID] = id;
        native.acquireForever();
        const code = io[0];
        return code === 0 ? RESOLVED : this.#queued(code, id, n, Infinity, undefined);
      }
      return this.#wait(n, options, false);
    }

    async hold(n = 1, options = undefined) {
      await this.#wait(n, options, true);
      return new Guard(this, this.#s, n);
    }

    async runExclusive(fn, n = 1, options = undefined) {
      if (typeof fn !== 'function') throw typeError('fn', 'of type function', fn);
      const guard = await this.hold(n, options);
      try {
        return await fn();
      } finally {
        guard.release();
      }
    }

    release(n = 1) {
      checkCount('n', n);
      io[IO_SLOT] = this.#s;
      io[IO_N] = n;
      io[IO_GUARD] = 0;
      native.release();
      const code = io[0];
      if (done[0] !== 0) flush();
      if (code !== 0) throw errorFor(code, 'n', n);
    }

    close() {
      native.close(this.#s);
      if (done[0] !== 0) flush();
    }

    get available() { return native.available(this.#s); }
    get waiting() { return native.waiting(this.#s); }
    get max() { return native.max(this.#s); }
    get closed() { return native.closed(this.#s); }

    // Check everything before anything changes; reject, never throw.
    #wait(n, options, guard) {
      let timeout, signal;
      try {
        checkCount('n', n);
        options = checkOptions('options', options);
        timeout = checkTimeout(options.timeout);
        signal = checkSignal(options.signal);
        if (signal !== undefined && signal.aborted) return Promise.reject(abortReason(signal, errorFor));
      } catch (err) {
        return Promise.reject(err);
      }
      return this.#start(n, timeout, guard, signal);
    }

    // Take n tokens now, or queue a wait for them.  The wait's id is taken
    // only if it is queued: until then, it is what newId() would return.
    #start(n, timeout, guard, signal) {
      const id = freeIds.length !== 0 ? freeIds[freeIds.length - 1] : pending.length;
      io[IO_SLOT] = this.#s;
      io[IO_N] = n;
      io[IO_ID] = id;
      io[IO_MS] = timeout;
      io[IO_GUARD] = guard ? 1 : 0;
      native.acquire();
      const code = io[0];
      return code === 0 ? RESOLVED : this.#queued(code, id, n, timeout, signal);
    }

    // The promise of an acquire not served at once: `code` is what the
    // native call left in io[0], EINPROGRESS when it queued the wait as id.
    #queued(code, id, n, timeout, signal) {
      if (code !== EINPROGRESS) return Promise.reject(errorFor(code, 'n', n));
      newId();
      return new Promise((resolve, reject) => {
        const p = { resolve, reject, sem: this, timer: null, signal, errorFor };
        pending[id] = p;
        if (signal !== undefined) {
          try {
            watch(signal, id);
          } catch (err) {
            // The signal's addEventListener threw: the wait ends, having
            // taken nothing, unless that code settled it already.
            if (pending[id] === p) {
              p.signal = undefined;  // never watched
              forget(id, p);
              abandon(id);
            }
            reject(err);
            return;
          }
          if (pending[id] !== p) return;  // aborted while it was being watched
        }
        if (timeout !== Infinity) arm(id, p);
      });
    }
  }

  // n tokens taken by hold(); release() or [Symbol.dispose]() gives them
  // back once.  A thread that exits still holding them gives them back then.
  class Guard {
    // The handle's slot, or null once released.
    #s;
    // The semaphore, which keeps the handle alive while the guard holds.
    #sem;
    #n;

    constructor(sem, s, n) {
      this.#sem = sem;
      this.#s = s;
      this.#n = n;
    }

    get n() { return this.#n; }
    get released() { return this.#s === null; }

    release() {
      if (this.#s === null) return;
      io[IO_SLOT] = this.#s;
      io[IO_N] = this.#n;
      io[IO_GUARD] = 1;
      native.release();
      const code = io[0];
      if (done[0] !== 0) flush();
      if (code !== 0) throw errorFor(code, 'n', this.#n);
      this.#s = null;
      this.#sem = null;
    }

    [kDispose]() {
      this.release();
    }
  }

  // }=====================================================================

  return {
    Semaphore,
    Guard,
    TimeoutError,
    ClosedError,
    MAX_COUNT,
    backend: native.backend,
  };
}

// }=====================================================================

// Named one by one, so that Node finds them for ES modules' named imports
// (import { Semaphore } from 'qsem'), as it does for an object literal.
const { Semaphore, Guard, TimeoutError, ClosedError, MAX_COUNT, backend } =
  makeApi(native.served() || makeEngine());
module.exports = { Semaphore, Guard, TimeoutError, ClosedError, MAX_COUNT, backend };
