// SPDX-License-Identifier: MIT
'use strict';
// The synchronous API: construction, tryAcquire, release, properties, and
// argument errors that change nothing.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Semaphore, ClosedError, MAX_COUNT } = require('..');

test('a new semaphore reports its counts', () => {
  const s = new Semaphore(3, { max: 5 });
  assert.equal(s.available, 3);
  assert.equal(s.max, 5);
  assert.equal(s.waiting, 0);
  assert.equal(s.closed, false);
  assert.equal(new Semaphore(0).max, MAX_COUNT);
});

test('tryAcquire takes n tokens or none', () => {
  const s = new Semaphore(3);
  assert.equal(s.tryAcquire(), true);
  assert.equal(s.tryAcquire(3), false);
  assert.equal(s.available, 2);
  assert.equal(s.tryAcquire(2), true);
  assert.equal(s.tryAcquire(0), true);
  assert.equal(s.available, 0);
});

test('release gives tokens back up to max, never past it', () => {
  const s = new Semaphore(1, { max: 3 });
  s.release(2);
  assert.equal(s.available, 3);
  assert.throws(() => s.release(1), { name: 'RangeError', code: 'ERR_QSEM_OVERFLOW' });
  assert.equal(s.available, 3);
});

test('bad counts throw TypeError or RangeError and change nothing', () => {
  const s = new Semaphore(2, { max: 4 });
  for (const bad of ['1', 1n, null, {}, true]) {
    assert.throws(() => s.tryAcquire(bad), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => s.release(bad), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  }
  for (const bad of [-1, 1.5, NaN, Infinity, MAX_COUNT + 1]) {
    assert.throws(() => s.tryAcquire(bad), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => s.release(bad), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  }
  assert.throws(() => s.tryAcquire(5), { name: 'RangeError' });  // more than max
  assert.equal(s.available, 2);
});

test('the messages follow Node\'s wording', () => {
  const s = new Semaphore(1);
  assert.throws(() => s.tryAcquire('2'),
    { message: 'The "n" argument must be of type number. Received type string (\'2\')' });
  assert.throws(() => s.release(-1),
    { message: 'The value of "n" is out of range. It must be an integer >= 0 && <= ' +
               `${MAX_COUNT}. Received -1` });
});

test('the constructor checks its arguments', () => {
  assert.throws(() => new Semaphore(), { name: 'TypeError' });
  assert.throws(() => new Semaphore(-1), { name: 'RangeError' });
  assert.throws(() => new Semaphore(1, 5), { name: 'TypeError' });
  assert.throws(() => new Semaphore(3, { max: 2 }), { name: 'RangeError' });
  assert.throws(() => new Semaphore(1, { fair: 1 }), { name: 'TypeError' });
});

test('close fails later acquires but release keeps working', async () => {
  const s = new Semaphore(1);
  s.close();
  s.close();  // harmless
  assert.equal(s.closed, true);
  assert.throws(() => s.tryAcquire(), ClosedError);
  await assert.rejects(s.acquire(), { name: 'ClosedError', code: 'ERR_QSEM_CLOSED' });
  s.release(1);
  assert.equal(s.available, 2);
});

test('acquire rejects bad arguments without taking anything', async () => {
  const s = new Semaphore(2);
  await assert.rejects(s.acquire('1'), { name: 'TypeError' });
  await assert.rejects(s.acquire(1, 5), { name: 'TypeError' });
  await assert.rejects(s.acquire(1, { timeout: '5' }), { name: 'TypeError' });
  await assert.rejects(s.acquire(1, { timeout: -1 }), { name: 'RangeError' });
  await assert.rejects(s.acquire(1, { timeout: NaN }), { name: 'RangeError' });
  await assert.rejects(s.acquire(1, { signal: {} }), { name: 'TypeError' });
  await assert.rejects(s.acquire(1, { signal: null }), { name: 'TypeError' });
  assert.equal(s.available, 2);
});

// As Node's own APIs (timers/promises, events.once): a signal is any
// object with `aborted` and addEventListener, of whatever realm or
// polyfill, not only this realm's AbortSignal.
test('acquire takes an AbortSignal-like object, as Node\'s own APIs do', async () => {
  class FakeSignal extends EventTarget {   // a polyfill's shape
    constructor() { super(); this.aborted = false; this.reason = undefined; }
    abort(reason) {
      this.aborted = true;
      this.reason = reason;
      this.dispatchEvent(new Event('abort'));
    }
  }
  const s = new Semaphore(0);
  const signal = new FakeSignal();
  const p = s.acquire(1, { signal });
  assert.equal(s.waiting, 1);
  signal.abort(new Error('stop'));
  await assert.rejects(p, { message: 'stop' });
  assert.equal(s.waiting, 0);
  s.release();
  assert.equal(s.available, 1);
});

test('a signal lacking either listener method is refused, and nothing is queued', async () => {
  const s = new Semaphore(0);
  const signals = [
    { aborted: false },
    { aborted: false, addEventListener() {} },
    { aborted: false, removeEventListener() {} },
  ];
  for (const signal of signals) {
    await assert.rejects(s.acquire(1, { signal }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    await assert.rejects(s.hold(1, { signal }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  }
  assert.equal(s.waiting, 0);
  s.release();
  assert.equal(s.available, 1);
});

test('a signal whose addEventListener throws: the wait rejects with its error, queued no more', async () => {
  const s = new Semaphore(0);
  const boom = new Error('add');
  const signal = { aborted: false, addEventListener() { throw boom; }, removeEventListener() {} };
  await assert.rejects(s.acquire(1, { signal }), (err) => err === boom);
  assert.equal(s.waiting, 0);
  s.release();
  assert.equal(s.available, 1);
});

test('a signal whose aborted getter throws: acquire rejects, never throws', async () => {
  const s = new Semaphore(0);
  const boom = new Error('aborted');
  const signal = { get aborted() { throw boom; }, addEventListener() {}, removeEventListener() {} };
  const p = s.acquire(1, { signal });
  await assert.rejects(p, (err) => err === boom);
  assert.equal(s.waiting, 0);
});

// Node's own APIs call nothing on the event: a signal made by hand may
// call its listener with none.
test('a signal made by hand may call its listener with no event', async () => {
  let listener;
  const signal = {
    aborted: false,
    reason: undefined,
    addEventListener(type, fn) { listener = fn; },
    removeEventListener() { listener = undefined; },
  };
  const s = new Semaphore(0);
  const p = s.acquire(1, { signal });
  signal.aborted = true;
  signal.reason = new Error('stop');
  listener();
  await assert.rejects(p, { message: 'stop' });
  assert.equal(s.waiting, 0);
  s.release();
  assert.equal(s.available, 1);
});

// Settling a wait must not throw into the release that settled it, nor
// leave anything behind that a later release would settle again.
test('a signal whose removeEventListener throws: its error is reported, no wait settled twice', () => {
  const { spawnSync } = require('node:child_process');
  const script = `
    const { Semaphore } = require(${JSON.stringify(require.resolve('..'))});
    const reported = [];
    process.on('uncaughtException', (err) => reported.push(err.message));
    process.nextTick = () => {};        // as a test runner's fake timers leave them
    globalThis.setImmediate = () => {};
    const signal = { aborted: false, addEventListener() {},
                     removeEventListener() { throw new Error('remove'); } };
    const s = new Semaphore(0);
    let got = false;
    s.acquire(1, { signal }).then(() => { got = true; });
    s.release(1);                  // grants the wait; settling it unwatches the signal
    const t = new Semaphore(0);
    let settled = false;
    t.acquire(1).then(() => { settled = true; }, () => {});
    new Semaphore(1).release(1);   // a release that reads what settles
    setTimeout(() => {
      console.log(JSON.stringify({ got, settled, reported,
                                   s: [s.available, s.waiting], t: [t.available, t.waiting] }));
      t.close();
    }, 50);`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    got: true, settled: false, reported: ['remove'], s: [0, 0], t: [0, 1],
  });
});

// Settling a wait may run code (a signal's removeEventListener) that
// queues a wait, reusing the settled one's id, and releases.
test('code run while a wait settles may queue and release: no wait settled twice', async () => {
  const s = new Semaphore(0);
  const s2 = new Semaphore(0);
  const u = new Semaphore(0);
  let lateSettled = false;
  const signal = {
    aborted: false,
    addEventListener() {},
    removeEventListener() {
      s2.acquire(1).then(() => { lateSettled = true; }, () => {});
      u.release(1);
    },
  };
  const first = s.acquire(1, { signal });
  const other = u.acquire(1);
  s.release(1);
  await first;
  await other;
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(lateSettled, false);
  assert.equal(s2.waiting, 1);
  s2.release(1);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(lateSettled, true);
  assert.deepEqual([s.available, s2.available, u.available], [0, 0, 0]);
  assert.deepEqual([s.waiting, s2.waiting, u.waiting], [0, 0, 0]);
});

// More waits than the completion buffer holds (64), settled by one
// release, whose settling runs code that uses the buffer and the ids.
test('one release settling more waits than the buffer holds: each settled once', async () => {
  const s = new Semaphore(0);
  const other = new Semaphore(0);
  let got = 0;
  let otherGot = 0;
  for (let i = 0; i < 100; i++) {
    const signal = {
      aborted: false,
      addEventListener() {},
      removeEventListener() {
        other.acquire(1, { timeout: 60000 }).then(() => { otherGot++; }, () => {});
      },
    };
    s.acquire(1, { signal }).then(() => { got++; });
  }
  s.release(100);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(got, 100);
  assert.equal(otherGot, 0);
  assert.equal(other.waiting, 100);
  other.release(100);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(otherGot, 100);
  assert.deepEqual([s.available, s.waiting, other.available, other.waiting], [0, 0, 0, 0]);
});

test('a signal that aborts while its listener is being added aborts the wait', async () => {
  const s = new Semaphore(0);
  const calling = {   // calls the listener from within addEventListener
    aborted: false,
    reason: new Error('stop'),
    addEventListener(type, listener) { this.aborted = true; listener(); },
    removeEventListener() {},
  };
  await assert.rejects(s.acquire(1, { signal: calling }), { message: 'stop' });
  const silent = {   // aborts there without calling it
    aborted: false,
    reason: new Error('quiet'),
    addEventListener() { this.aborted = true; },
    removeEventListener() {},
  };
  await assert.rejects(s.acquire(1, { signal: silent, timeout: 60000 }), { message: 'quiet' });
  assert.equal(s.waiting, 0);
  s.release();
  assert.equal(s.available, 1);
});

test('a signal without a reason rejects with an AbortError, as Node\'s own APIs', async () => {
  const s = new Semaphore(0);
  const listeners = [];
  const signal = {
    aborted: false,
    addEventListener(type, listener) { listeners.push(listener); },
    removeEventListener() {},
  };
  const queued = s.acquire(1, { signal });
  signal.aborted = true;
  listeners.forEach((listener) => listener());
  await assert.rejects(queued, { name: 'AbortError', code: 'ABORT_ERR' });
  await assert.rejects(s.acquire(1, { signal }), { name: 'AbortError', code: 'ABORT_ERR' });
  assert.equal(s.waiting, 0);
});

// A test runner's fake timers replace the global setTimeout (Jest's, per
// test file); a wait's deadline is real time, which they never reach.
test('timeouts run on Node\'s own timers, whatever the global setTimeout', { timeout: 10000 }, async () => {
  const saved = globalThis.setTimeout;
  globalThis.setTimeout = () => 0;   // a timer that never fires
  try {
    const s = new Semaphore(0);
    await assert.rejects(s.acquire(1, { timeout: 20 }), { name: 'TimeoutError' });
    assert.equal(s.waiting, 0);
  } finally {
    globalThis.setTimeout = saved;
  }
});

test('ES modules import the names', async () => {
  const { pathToFileURL } = require('node:url');
  const cjs = require('..');
  const esm = await import(pathToFileURL(require.resolve('..')).href);
  for (const name of Object.keys(cjs)) assert.equal(esm[name], cjs[name], name);
  assert.equal(typeof esm.Semaphore, 'function');
});

test('hold returns a guard that gives back exactly once', async () => {
  const s = new Semaphore(3);
  const g = await s.hold(2);
  assert.equal(g.n, 2);
  assert.equal(s.available, 1);
  g.release();
  g.release();
  assert.equal(g.released, true);
  assert.equal(s.available, 3);
  {
    const g2 = await s.hold(3);
    assert.equal(s.available, 0);
    g2[Symbol.dispose]();
  }
  assert.equal(s.available, 3);
});

test('a guard whose release would pass max stays held', async () => {
  const s = new Semaphore(1, { max: 1 });
  const g = await s.hold(1);
  s.release(1);  // someone else gave a token back meanwhile
  assert.throws(() => g.release(), { code: 'ERR_QSEM_OVERFLOW' });
  assert.equal(g.released, false);
  assert.equal(s.available, 1);
});

test('runExclusive gives the tokens back on success and on throw', async () => {
  const s = new Semaphore(2);
  assert.equal(await s.runExclusive(async () => {
    assert.equal(s.available, 0);
    return 42;
  }, 2), 42);
  assert.equal(s.available, 2);
  await assert.rejects(s.runExclusive(() => { throw new Error('boom'); }), /boom/);
  assert.equal(s.available, 2);
  await assert.rejects(s.runExclusive('nope'), { name: 'TypeError' });
  assert.equal(s.available, 2);
});

test('a package whose addon was never built says how to build it', () => {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qsem-unbuilt-'));
  const saved = process.env.QSEM_NODE_ADDON;
  try {
    fs.copyFileSync(path.join(__dirname, '..', 'index.js'), path.join(dir, 'index.js'));
    delete process.env.QSEM_NODE_ADDON;
    assert.throws(() => require(dir), {
      code: 'ERR_QSEM_NOT_BUILT',
      message: /npm rebuild qsem/,
    });
  } finally {
    if (saved !== undefined) process.env.QSEM_NODE_ADDON = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('another copy of index.js in the thread shares the first one\'s engine', async () => {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const first = require('..');
  // as a test runner does with a module registry per test file
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qsem-twice-'));
  const saved = process.env.QSEM_NODE_ADDON;
  let copy;
  try {
    fs.copyFileSync(path.join(__dirname, '..', 'index.js'), path.join(dir, 'index.js'));
    process.env.QSEM_NODE_ADDON = saved || path.join(__dirname, '..', 'build', 'qsem.node');
    copy = require(dir);
  } finally {
    if (saved === undefined) delete process.env.QSEM_NODE_ADDON;
    else process.env.QSEM_NODE_ADDON = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.notEqual(copy.Semaphore, first.Semaphore);  // its own classes
  // over the same state: one copy's release settles the other's waits,
  // in either direction, with a wait queued before the copy was loaded
  const a = new first.Semaphore(0);
  const waiting = a.acquire();
  const b = copy.Semaphore.from(a.share());
  const theirs = b.acquire(2, { timeout: 30000 });
  a.release(1);
  await waiting;
  b.release(2);
  await theirs;
  assert.equal(a.available, 0);
  assert.equal(a.waiting, 0);
});

// Jest runs each test file in a realm (vm context) of its own: a copy
// loaded there must throw that realm's TypeError and RangeError and return
// its Promises, as its caller checks them (instanceof, toThrow(TypeError)).
test('a copy in another realm gives that realm\'s errors and promises', async () => {
  const fs = require('node:fs');
  const path = require('node:path');
  const vm = require('node:vm');
  require('..');  // the first copy, in this realm
  const file = require.resolve('..');
  const ctx = vm.createContext({ process, setTimeout, clearTimeout, AbortController, AbortSignal });
  const wrapper = vm.runInContext(
    `(function (exports, require, module, __filename, __dirname) {${fs.readFileSync(file, 'utf8')}\n})`,
    ctx, { filename: file });
  const mod = vm.runInContext('({ exports: {} })', ctx);
  wrapper(mod.exports, require, mod, file, path.dirname(file));
  const q = mod.exports;
  const realm = vm.runInContext('({ TypeError, RangeError, Promise })', ctx);
  const s = new q.Semaphore(1);
  assert.ok(s.acquire() instanceof realm.Promise);
  await assert.rejects(s.acquire('x'), (e) => e instanceof realm.TypeError &&
                                              e.code === 'ERR_INVALID_ARG_TYPE');
  assert.throws(() => s.release(-1), (e) => e instanceof realm.RangeError);
  const timed = s.acquire(1, { timeout: 1 });
  assert.ok(timed instanceof realm.Promise);
  await assert.rejects(timed, (e) => e instanceof q.TimeoutError);
  s.release();
  assert.equal(s.available, 1);
});

// Clearing require.cache of the addon too loads it again: a second
// instance in the thread, with an environment of its own.  The two share
// semaphores, and a grant from one to a wait of the other in the same
// thread settles (it went to a list that no call of the waiting instance
// would complete).
test('a second instance of the addon in the thread settles the first one\'s waits', async () => {
  const path = require('node:path');
  const q1 = require('..');
  const dirs = [path.dirname(require.resolve('..')), process.env.QSEM_NODE_ADDON || ''];
  for (const key of Object.keys(require.cache)) {
    if (dirs.some((d) => d !== '' && key.startsWith(d))) delete require.cache[key];
  }
  const q2 = require('..');
  assert.notEqual(q2, q1);
  const a = new q1.Semaphore(0);
  const b = q2.Semaphore.from(a.share());
  const viaB = b.acquire(1, { timeout: 30000 });
  a.release(1);
  await viaB;
  const viaA = a.acquire(1, { timeout: 30000 });
  b.release(1);
  await viaA;
  assert.equal(a.available, 0);
  assert.equal(b.waiting, 0);
});
