// SPDX-License-Identifier: MIT
'use strict';
// Waits never block the loop: a ticker keeps running while 1,000 acquires
// wait, and all of them are served.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Semaphore } = require('..');

test('a ticker keeps running while 1,000 acquires wait', async () => {
  const s = new Semaphore(0);
  let served = 0;
  const waits = [];
  for (let i = 0; i < 1000; i++) waits.push(s.acquire(1).then(() => served++));
  assert.equal(s.waiting, 1000);

  let ticks = 0;
  await new Promise((resolve) => {
    const t = setInterval(() => {
      if (++ticks === 20) {
        clearInterval(t);
        resolve();
      }
    }, 5);
  });
  assert.equal(ticks, 20);
  assert.equal(served, 0);
  assert.equal(s.waiting, 1000);

  s.release(1000);
  await Promise.all(waits);
  assert.equal(served, 1000);
  assert.equal(s.available, 0);
  assert.equal(s.waiting, 0);
});
