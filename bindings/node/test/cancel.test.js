// SPDX-License-Identifier: MIT
'use strict';
// Waits that end without tokens (timeout, abort, close) take nothing, and
// queued waits are served.  Every test ends by counting the tokens.
const test = require('node:test');
const assert = require('node:assert/strict');
const { setTimeout: sleep } = require('node:timers/promises');
const { Semaphore, TimeoutError } = require('..');

test('a queued acquire resolves when tokens are released', async () => {
  const s = new Semaphore(0);
  const p = s.acquire(2);
  assert.equal(s.waiting, 1);
  s.release(1);
  await sleep(10);
  assert.equal(s.waiting, 1);  // one token is not enough
  s.release(1);
  await p;
  assert.equal(s.available, 0);
  assert.equal(s.waiting, 0);
});

test('a timed-out acquire rejects with TimeoutError and takes nothing', async () => {
  const s = new Semaphore(1);
  const start = process.hrtime.bigint();
  await assert.rejects(s.acquire(2, { timeout: 50 }), TimeoutError);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  assert.ok(ms >= 50, `timed out early, after ${ms} ms`);
  assert.equal(s.available, 1);
  assert.equal(s.waiting, 0);
});

test('timeout 0 tries once; Infinity waits', async () => {
  const s = new Semaphore(1);
  await s.acquire(1, { timeout: 0 });
  await assert.rejects(s.acquire(1, { timeout: 0 }), { name: 'TimeoutError' });
  const p = s.acquire(1, { timeout: Infinity });
  await sleep(20);
  assert.equal(s.waiting, 1);
  s.release(1);
  await p;
  assert.equal(s.available, 0);
});

test('an abort rejects with signal.reason and takes nothing', async () => {
  const s = new Semaphore(1);
  const ac = new AbortController();
  const p = s.acquire(2, { signal: ac.signal });
  assert.equal(s.waiting, 1);
  const reason = new Error('stop');
  ac.abort(reason);
  await assert.rejects(p, (err) => err === reason);
  assert.equal(s.available, 1);
  assert.equal(s.waiting, 0);
});

test('an already-aborted signal rejects at once', async () => {
  const s = new Semaphore(5);
  await assert.rejects(s.acquire(1, { signal: AbortSignal.abort() }), { name: 'AbortError' });
  assert.equal(s.available, 5);
});

test('close rejects every waiter with ClosedError', async () => {
  const s = new Semaphore(0);
  const ps = [s.acquire(1), s.acquire(2), s.hold(3)];
  assert.equal(s.waiting, 3);
  s.close();
  for (const p of ps) await assert.rejects(p, { name: 'ClosedError' });
  assert.equal(s.available, 0);
  assert.equal(s.waiting, 0);
});

test('an abort racing a grant loses no token', async () => {
  const s = new Semaphore(0);
  for (let i = 0; i < 200; i++) {
    const ac = new AbortController();
    const p = s.acquire(1, { signal: ac.signal }).then(() => 1, () => 0);
    s.release(1);     // granted now, claimed on the loop later
    ac.abort();       // cancelled before the claim: the grant goes back
    const took = await p;
    assert.equal(s.available + took, 1);
    if (took) s.release(1);
    assert.equal(s.available, 1);
    s.tryAcquire(1);
  }
  assert.equal(s.waiting, 0);
});

test('a fair semaphore serves in order', async () => {
  const s = new Semaphore(0, { fair: true });
  const order = [];
  const ps = [3, 1, 2].map((n) => s.acquire(n).then(() => order.push(n)));
  assert.equal(s.tryAcquire(0), true);
  s.release(1);
  await sleep(10);
  assert.deepEqual(order, []);  // 3 is first and 1 may not overtake it
  s.release(5);
  await Promise.all(ps);
  assert.deepEqual(order, [3, 1, 2]);
  assert.equal(s.available, 0);
});

test('many timers and aborts leave every token', async () => {
  const s = new Semaphore(4);
  const tasks = [];
  for (let i = 0; i < 300; i++) {
    const n = 1 + (i % 4);
    const ac = new AbortController();
    const opts = i % 3 === 0 ? { timeout: i % 7 } : { signal: ac.signal };
    tasks.push(s.acquire(n, opts).then(async () => {
      await sleep(i % 2);
      s.release(n);
    }, () => {}));
    if (i % 5 === 0) setTimeout(() => ac.abort(), i % 3);
  }
  await Promise.all(tasks);
  assert.equal(s.available, 4);
  assert.equal(s.waiting, 0);
});

test('waits served by one release settle in grant order, past any buffer', async () => {
  for (const fair of [true, false]) {
    const s = new Semaphore(0, { fair });
    const order = [];
    const ps = [];
    for (let i = 0; i < 300; i++) ps.push(s.acquire(1).then(() => order.push(i)));
    s.release(300);
    await Promise.all(ps);
    assert.deepEqual(order, [...Array(300).keys()], `fair: ${fair}`);
    assert.equal(s.available, 0);
  }
});

test('one signal shared by many waits: one listener, every wait aborted', async () => {
  const { getEventListeners } = require('node:events');
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  try {
    const s = new Semaphore(0);
    const ac = new AbortController();
    const ps = [];
    for (let i = 0; i < 50; i++) ps.push(s.acquire(1, { signal: ac.signal }));
    assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
    s.release(10);  // ten are served; their listener entries go
    await Promise.all(ps.slice(0, 10));
    assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
    const reason = new Error('enough');
    ac.abort(reason);
    for (const p of ps.slice(10)) await assert.rejects(p, (err) => err === reason);
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
    assert.equal(s.waiting, 0);
    assert.equal(s.available, 0);
    const other = new AbortController();
    const p = s.acquire(1, { signal: other.signal });
    s.release(1);
    await p;
    assert.equal(getEventListeners(other.signal, 'abort').length, 0);  // settled: removed
    await sleep(10);
    assert.deepEqual(warnings.map((w) => w.name), []);
  } finally {
    process.off('warning', onWarning);
  }
});

test('thousands of timed waits aborted newest first: all rejected, nothing taken', async () => {
  const s = new Semaphore(0);
  const acs = [];
  const ps = [];
  for (let i = 0; i < 5000; i++) {
    const ac = new AbortController();
    acs.push(ac);
    ps.push(s.acquire(1, { timeout: 60000, signal: ac.signal }).then(() => 'granted', () => 'aborted'));
  }
  assert.equal(s.waiting, 5000);
  for (let i = acs.length - 1; i >= 0; i--) acs[i].abort();
  const results = await Promise.all(ps);
  assert.equal(results.filter((r) => r === 'aborted').length, 5000);
  assert.equal(s.waiting, 0);
  s.release(1);
  assert.equal(s.available, 1);
});
