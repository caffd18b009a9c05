// SPDX-License-Identifier: MIT
'use strict';
// Handles dropped by the garbage collector: a handle's guards give their
// tokens back when it goes, and a wait of the same thread that those
// tokens serve still settles (a finalizer cannot call into JavaScript, so
// the grant takes the thread-safe function instead).
const test = require('node:test');
const assert = require('node:assert/strict');
const v8 = require('node:v8');
const vm = require('node:vm');
const { setTimeout: sleep } = require('node:timers/promises');
const { Semaphore } = require('..');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

// A second handle on s, in this thread, holding `n` tokens through a guard
// that nothing references once this returns.
async function holdAndForget(s, n) {
  const other = Semaphore.from(s.share());
  await other.hold(n);
}

test('a collected handle gives back what its guards held', async () => {
  const s = new Semaphore(2);
  await holdAndForget(s, 2);
  assert.equal(s.available, 0);
  for (let i = 0; i < 10 && s.available === 0; i++) {
    gc();
    await sleep(10);
  }
  assert.equal(s.available, 2);
});

test('a wait served by a collected handle\'s tokens settles', async () => {
  const s = new Semaphore(1);
  await holdAndForget(s, 1);
  let served = false;
  const p = s.acquire(1).then(() => { served = true; });
  assert.equal(s.waiting, 1);
  for (let i = 0; i < 10 && !served; i++) {
    gc();
    await sleep(10);
  }
  assert.equal(served, true);
  await p;
  assert.equal(s.available, 0);
  assert.equal(s.waiting, 0);
});
