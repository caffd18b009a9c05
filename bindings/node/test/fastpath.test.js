// SPDX-License-Identifier: MIT
'use strict';
// The hot calls (tryAcquire, acquire, release) pass their arguments and
// result through one buffer shared by every semaphore of the thread: a
// stale or misplaced field there would take from the wrong semaphore,
// take the wrong count, or report the wrong result.  These tests count
// every token against a model.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Semaphore } = require('..');

// A small deterministic generator, so that a failure replays.
function random(seed) {
  let x = seed >>> 0 || 1;
  return (k) => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x % k;
  };
}

test('interleaved calls on three semaphores move exactly the tokens asked', async () => {
  const rnd = random(16);
  const sems = [new Semaphore(5, { max: 9 }), new Semaphore(0), new Semaphore(7, { max: 7 })];
  const model = [5, 0, 7];
  const max = [9, Number.MAX_SAFE_INTEGER, 7];
  for (let step = 0; step < 3000; step++) {
    const k = rnd(3);
    const n = rnd(4);
    const s = sems[k];
    switch (rnd(4)) {
      case 0: {
        const ok = s.tryAcquire(n);
        assert.equal(ok, model[k] >= n, `step ${step}: tryAcquire(${n}) on ${k}`);
        if (ok) model[k] -= n;
        break;
      }
      case 1:
        if (model[k] >= n) {
          await s.acquire(n);  // served at once: nothing queued
          model[k] -= n;
        } else {
          assert.equal(s.tryAcquire(n), false);
        }
        break;
      default:
        if (model[k] + n <= max[k]) {
          s.release(n);
          model[k] += n;
        } else {
          assert.throws(() => s.release(n), { code: 'ERR_QSEM_OVERFLOW' });
        }
    }
    assert.deepEqual(sems.map((x) => x.available), model, `after step ${step}`);
  }
  for (const s of sems) assert.equal(s.waiting, 0);
});

test('a release that grants more waits than the completion buffer holds', async () => {
  // 64 same-thread completions fit the buffer; the rest are dispatched
  // from inside release(), which must still report its own result.
  const s = new Semaphore(0);
  const other = new Semaphore(3);
  const order = [];
  const waits = [];
  for (let i = 0; i < 200; i++) waits.push(s.acquire(1).then(() => order.push(i)));
  assert.equal(s.waiting, 200);
  s.release(250);
  assert.equal(s.available, 50);
  assert.equal(s.waiting, 0);
  // The buffer is not left holding the last call's arguments for the next.
  assert.equal(other.tryAcquire(3), true);
  assert.equal(other.available, 0);
  await Promise.all(waits);
  assert.equal(order.length, 200);
  assert.equal(s.available, 50);
});

test('a plain release after a guard\'s is not taken for a guard\'s', async () => {
  const s = new Semaphore(2);
  const guard = await s.hold(2);
  guard.release();
  assert.equal(s.available, 2);
  // Nothing is held by a guard now: a plain release must not be refused.
  assert.equal(s.tryAcquire(1), true);
  s.release(1);
  assert.equal(s.available, 2);
});

test('a timed acquire after a forever one keeps its own timeout', async () => {
  const s = new Semaphore(0);
  const forever = s.acquire(1);
  await assert.rejects(s.acquire(1, { timeout: 0 }), { name: 'TimeoutError' });
  await assert.rejects(s.acquire(1, { timeout: 20 }), { name: 'TimeoutError' });
  assert.equal(s.waiting, 1);
  const late = s.acquire(1);  // forever again, after the timed ones
  await new Promise((resolve) => setTimeout(resolve, 40));
  assert.equal(s.waiting, 2);
  s.release(2);
  await Promise.all([forever, late]);
  assert.equal(s.available, 0);
});

test('acquire(n) without options checks n as fully as with them', async () => {
  const s = new Semaphore(2);
  for (const n of [-1, 1.5, NaN, Infinity, 2 ** 53, '1', null]) {
    await assert.rejects(s.acquire(n), { name: /^(TypeError|RangeError)$/ }, `n = ${n}`);
  }
  assert.equal(s.available, 2);
  assert.equal(s.waiting, 0);
});

test('each queued wait settles exactly once, in its turn', async () => {
  const s = new Semaphore(0);
  const settled = [];
  const waits = [0, 1, 2, 3].map((i) => s.acquire().then(() => settled.push(i)));
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  for (let k = 1; k <= 4; k++) {
    s.release();
    await tick();
    assert.deepEqual(settled, [0, 1, 2, 3].slice(0, k));
    assert.equal(s.waiting, 4 - k);
  }
  await Promise.all(waits);
  // Served at once between queued waits: they share no id with those.
  s.release(2);
  await s.acquire();
  const late = s.acquire(2);
  s.release(1);
  await late;
  assert.equal(s.available, 0);
});

// A finished wait's record (and its core waiter) stays with its handle for
// the next wait of the same size.  A record reused for another size,
// another semaphore, or with a grant left in it would move the wrong
// tokens; these tests watch every count while records are reused.
const tick = () => new Promise((resolve) => setImmediate(resolve));

function settledFlag(promise) {
  const flag = { settled: false };
  promise.then(() => { flag.settled = true; }, () => { flag.settled = true; });
  return flag;
}

test('a wait for 2 after a wait for 1 waits for 2', async () => {
  const s = new Semaphore(0);
  for (let round = 0; round < 3; round++) {
    const one = s.acquire(1);
    s.release(1);
    await one;
    const two = s.acquire(2);
    const flag = settledFlag(two);
    s.release(1);
    await tick();
    assert.equal(flag.settled, false, `round ${round}: served by 1 token`);
    assert.equal(s.waiting, 1);
    assert.equal(s.available, 1);
    s.release(1);
    await two;
    assert.equal(s.available, 0);
    assert.equal(s.waiting, 0);
  }
});

test('a wait on one semaphore is not granted by another\'s release', async () => {
  const a = new Semaphore(0);
  const b = new Semaphore(0);
  for (let round = 0; round < 3; round++) {
    const wa = a.acquire();
    a.release();
    await wa;  // a's record is idle now
    const wb = b.acquire();
    const flag = settledFlag(wb);
    a.release();
    await tick();
    assert.equal(flag.settled, false, `round ${round}: b's wait granted by a`);
    assert.equal(a.available, 1);
    assert.equal(b.waiting, 1);
    b.release();
    await wb;
    assert.equal(a.tryAcquire(), true);
    assert.deepEqual([a.available, b.available, a.waiting, b.waiting], [0, 0, 0, 0]);
  }
});

test('a wait after a timed-out, an aborted and a closed one takes only its own', async () => {
  const s = new Semaphore(0);
  for (let round = 0; round < 3; round++) {
    await assert.rejects(s.acquire(1, { timeout: 5 }), { name: 'TimeoutError' });
    const ac = new AbortController();
    const aborted = s.acquire(1, { signal: ac.signal });
    ac.abort();
    await assert.rejects(aborted, { name: 'AbortError' });
    assert.equal(s.waiting, 0);
    assert.equal(s.available, 0);
    const w = s.acquire(1);
    s.release(2);
    await w;
    assert.equal(s.available, 1, `round ${round}`);
    assert.equal(s.tryAcquire(1), true);
  }
  const queued = s.acquire(1);
  s.close();
  await assert.rejects(queued, { name: 'ClosedError' });
  await assert.rejects(s.acquire(1), { name: 'ClosedError' });
  assert.equal(s.waiting, 0);
});

test('waits queued by acquire(n) and by acquire(n, options) keep apart', async () => {
  // acquire(n) without options takes its own native call, which reads only
  // slot, n and id: each wait must still get its own id and count.
  const s = new Semaphore(0, { fair: true });
  try {
    const settled = [];
    const note = (name) => () => settled.push(name);
    const waits = [
      s.acquire(1).then(note('plain 1')),
      s.acquire(1, { timeout: 60000 }).then(note('timed 1')),
      s.acquire(2).then(note('plain 2')),
      s.hold(1).then((guard) => { settled.push('guard 1'); return guard; }),
      s.acquire().then(note('plain default')),
    ];
    assert.equal(s.waiting, 5);
    const after = [['plain 1'], ['plain 1', 'timed 1'], ['plain 1', 'timed 1'],
                   ['plain 1', 'timed 1', 'plain 2'], ['plain 1', 'timed 1', 'plain 2', 'guard 1'],
                   ['plain 1', 'timed 1', 'plain 2', 'guard 1', 'plain default']];
    // The third token waits in the semaphore for the fourth: plain 2 is first.
    const left = [0, 0, 1, 0, 0, 0];
    for (const [k, expected] of after.entries()) {
      s.release(1);
      await tick();
      assert.deepEqual(settled, expected, `after release ${k + 1}`);
      assert.equal(s.available, left[k], `after release ${k + 1}`);
    }
    const guard = await waits[3];
    await Promise.all(waits);
    assert.equal(s.waiting, 0);
    guard.release();
    assert.equal(s.available, 1);
  } finally {
    s.close();  // a failed check must not leave waits keeping the loop alive
  }
});
