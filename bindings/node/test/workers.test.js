// SPDX-License-Identifier: MIT
'use strict';
// One semaphore shared by worker threads: handles are counted per thread,
// a thread that goes away leaves no waiter and gives back what its guards
// hold, and tokens are conserved under a mixed load.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { Worker } = require('node:worker_threads');
const { setTimeout: sleep } = require('node:timers/promises');
const { Semaphore } = require('..');

const pkg = path.join(__dirname, '..');

// A worker running `body` with `qsem`, `sem` (opened from workerData.sem),
// `data` and `post` in scope.
function worker(body, sem, data = {}) {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const qsem = require(workerData.pkg);
    const sem = qsem.Semaphore.from(workerData.sem);
    const data = workerData.data;
    const post = (m) => parentPort.postMessage(m);
    (async () => { ${body} })().catch((err) => { post({ error: String(err.stack) }); });`;
  return new Worker(code, { eval: true, workerData: { pkg, sem: sem.share(), data } });
}

// The worker's next message.  Messages are queued as they arrive: a
// worker's messages may be emitted together, before a listener attached
// after the first one could see the second.
const inboxes = new WeakMap();
function message(w) {
  let box = inboxes.get(w);
  if (box === undefined) {
    box = { messages: [], waiting: [] };
    inboxes.set(w, box);
    w.on('message', (m) => box.messages.push(m));
    w.on('error', (err) => box.messages.push({ error: String(err.stack) }));
    w.on('message', () => box.waiting.length && box.waiting.shift()());
    w.on('error', () => box.waiting.length && box.waiting.shift()());
  }
  return new Promise((resolve, reject) => {
    const take = () => {
      const m = box.messages.shift();
      if (m && m.error) reject(new Error(m.error));
      else resolve(m);
    };
    if (box.messages.length) take();
    else box.waiting.push(take);
  });
}

function exited(w) {
  return new Promise((resolve) => w.once('exit', resolve));
}

// Poll for a condition set by another thread, within a generous bound.
async function until(cond, what) {
  for (let i = 0; i < 1000 && !cond(); i++) await sleep(5);
  assert.ok(cond(), what);
}

test('a worker and the main thread hand tokens back and forth', async () => {
  const s = new Semaphore(0);
  const w = worker(`
    for (let i = 0; i < 100; i++) { await sem.acquire(1); sem.release(2); }
    post('done');`, s);
  const done = message(w);
  const gone = exited(w);
  for (let i = 0; i < 100; i++) {
    s.release(1);
    await s.acquire(2);
  }
  assert.equal(await done, 'done');
  await gone;
  assert.equal(s.available, 0);
  assert.equal(s.waiting, 0);
});

test('from() rejects what share() did not make', () => {
  assert.throws(() => Semaphore.from({}), { name: 'TypeError' });
  assert.throws(() => Semaphore.from(null), { name: 'TypeError' });
  assert.throws(() => Semaphore.from({ type: 'qsem.Semaphore', id: -1 }), { name: 'RangeError' });
  const shared = new Semaphore(0).share();
  assert.throws(() => Semaphore.from({ ...shared, id: 2 ** 53 - 1 }), { code: 'ERR_QSEM_GONE' });
  assert.throws(() => Semaphore.from({ ...shared, key: 1 }), { code: 'ERR_QSEM_FOREIGN' });
});

test('share() tells nothing of where the addon is loaded', () => {
  const { key } = new Semaphore(0).share();
  assert.ok(Number.isSafeInteger(key) && key > 0);
  // No mapping of the process holds it: it is not an address of ours.
  const fs = require('node:fs');
  for (const line of fs.readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (m === null) continue;
    const lo = BigInt('0x' + m[1]), hi = BigInt('0x' + m[2]);
    assert.ok(!(BigInt(key) >= lo && BigInt(key) < hi), `key inside ${line}`);
  }
});

test('another copy of the package cannot open this copy\'s semaphores', () => {
  // A second installed copy: its own addon, hence its own registry, whose
  // ids would otherwise name its own semaphores.
  const fs = require('node:fs');
  const os = require('node:os');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qsem-copy-'));
  try {
    const addon = process.env.QSEM_NODE_ADDON || path.join(pkg, 'build', 'qsem.node');
    for (const name of ['a', 'b']) {
      fs.mkdirSync(path.join(dir, name, 'build'), { recursive: true });
      fs.copyFileSync(path.join(pkg, 'index.js'), path.join(dir, name, 'index.js'));
      fs.copyFileSync(addon, path.join(dir, name, 'build', 'qsem.node'));
    }
    const copy = require('node:child_process').execFileSync(process.execPath, ['-e', `
      const mine = require(${JSON.stringify(path.join(dir, 'a'))});
      const other = require(${JSON.stringify(path.join(dir, 'b'))});
      const a = new mine.Semaphore(1), b = new other.Semaphore(2);
      let code = 'opened';
      try { other.Semaphore.from(a.share()); } catch (err) { code = err.code; }
      process.stdout.write(code + ' ' + other.Semaphore.from(b.share()).available);`],
      { env: { ...process.env, QSEM_NODE_ADDON: '' }, encoding: 'utf8' });
    assert.equal(copy, 'ERR_QSEM_FOREIGN 2');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a worker terminated while waiting leaves no waiter', async () => {
  const s = new Semaphore(0);
  const w = worker(`sem.acquire(5); sem.hold(2); post('waiting');`, s);
  assert.equal(await message(w), 'waiting');
  assert.equal(s.waiting, 2);
  await w.terminate();
  assert.equal(s.waiting, 0);
  s.release(5);
  assert.equal(s.available, 5);  // nothing went to the dead waiters
});

test('a worker that ends holding a guard gives its tokens back', async () => {
  const s = new Semaphore(3);
  const w1 = worker(`await sem.hold(2); post('held'); await new Promise(() => setInterval(() => {}, 1000));`, s);
  assert.equal(await message(w1), 'held');
  assert.equal(s.available, 1);
  await w1.terminate();
  assert.equal(s.available, 3);

  // A plain acquire has no owner: its tokens stay taken.
  const w2 = worker(`await sem.hold(1); await sem.acquire(1); post('taken'); process.exit(0);`, s);
  const gone = exited(w2);
  assert.equal(await message(w2), 'taken');
  await gone;
  assert.equal(s.available, 2);
});

test('the semaphore lives while any thread holds a handle', async () => {
  const v8 = require('node:v8');
  const vm = require('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');

  let s = new Semaphore(0);
  const w = worker(`
    parentPort.once('message', async () => {
      post(sem.closed);
      sem.release(1);
      await sem.acquire(1);
      post(sem.available);
    });
    post('ready');`, s);
  assert.equal(await message(w), 'ready');
  const shared = s.share();
  s = null;  // the main thread's handle goes with the next collections
  for (let i = 0; i < 5; i++) {
    gc();
    await sleep(5);
  }
  w.postMessage('go');
  assert.equal(await message(w), false);
  assert.equal(await message(w), 0);
  await w.terminate();
  // The last handle is gone: the id opens nothing any more.
  assert.throws(() => Semaphore.from(shared), { code: 'ERR_QSEM_GONE' });
});

test('4 workers and the main thread share one semaphore and lose no token', async (t) => {
  const TOKENS = 8;
  const s = new Semaphore(TOKENS, { max: TOKENS });
  // Random n, forever / timed / aborted waits, guards and plain acquires.
  const body = `
    let seed = data.seed;
    const rnd = (k) => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) % k; };
    let ok = 0, failed = 0;
    for (let i = 0; i < data.rounds; i++) {
      const n = 1 + rnd(${TOKENS});
      const kind = rnd(4);
      const ac = new AbortController();
      const opts = kind === 1 ? { timeout: rnd(3) } : kind === 2 ? { signal: ac.signal } : {};
      if (kind === 2) setTimeout(() => ac.abort(), rnd(2));
      try {
        if (kind === 3) {
          const g = await sem.hold(n, opts);
          await new Promise((r) => setTimeout(r, rnd(2)));
          g.release();
        } else {
          await sem.acquire(n, opts);
          await new Promise((r) => setTimeout(r, rnd(2)));
          sem.release(n);
        }
        ok++;
      } catch (err) {
        if (!['TimeoutError', 'AbortError'].includes(err.name)) throw err;
        failed++;
      }
    }
    post({ ok, failed });`;
  const rounds = 400;
  const workers = [1, 2, 3, 4].map((seed) => worker(body, s, { seed, rounds }));
  const results = workers.map(message);
  const exits = workers.map(exited);  // now: a worker may exit before we look
  const mine = new Function('sem', 'data', 'post',
    `return (async () => { ${body} })();`);
  let main;
  await mine(s, { seed: 99, rounds }, (m) => { main = m; });
  const all = [main, ...(await Promise.all(results))];
  await Promise.all(exits);
  for (const r of all) assert.equal(r.ok + r.failed, rounds);
  t.diagnostic(`served ${all.map((r) => r.ok)}, timed out or aborted ${all.map((r) => r.failed)}`);
  // Both outcomes happened, so the test saw waits served and cancelled.
  assert.ok(all.reduce((a, r) => a + r.ok, 0) > 0);
  assert.ok(all.reduce((a, r) => a + r.failed, 0) > 0);
  assert.equal(s.available, TOKENS);
  assert.equal(s.waiting, 0);
});

test('workers terminated mid-traffic lose no token', async () => {
  const TOKENS = 6;
  const s = new Semaphore(TOKENS, { max: TOKENS });
  // Guards only, so that a terminated worker owes nothing.
  const body = `
    post('started');
    for (let i = 0; ; i++) {
      const g = await sem.hold(1 + (i % 3), { timeout: 5 }).catch(() => null);
      if (g !== null) {
        if (i % 2) await new Promise((r) => setImmediate(r));
        g.release();
      }
    }`;
  for (let round = 0; round < 8; round++) {
    const workers = [0, 1, 2].map(() => worker(body, s));
    await Promise.all(workers.map(message));
    // Traffic from the main thread meanwhile, then terminate at once.
    for (let i = 0; i < 20 + round * 5; i++) {
      const g = await s.hold(2, { timeout: 5 }).catch(() => null);
      if (g !== null) g.release();
    }
    await Promise.all(workers.map((w) => w.terminate()));
    assert.equal(s.waiting, 0);
    assert.equal(s.available, TOKENS);
  }
});

test('the main thread exiting with waiters does not crash', () => {
  const script = `
    const { Worker } = require('node:worker_threads');
    const { Semaphore } = require(${JSON.stringify(pkg)});
    const s = new Semaphore(0);
    for (let i = 0; i < 3; i++) {
      new Worker(\`
        const { workerData, parentPort } = require('node:worker_threads');
        const s = require(workerData.pkg).Semaphore.from(workerData.sem);
        s.acquire(1); s.hold(2, { timeout: 60000 }); parentPort.postMessage(0);\`,
        { eval: true, workerData: { pkg: ${JSON.stringify(pkg)}, sem: s.share() } })
        .on('message', () => {});
    }
    s.acquire(1);
    s.acquire(2, { timeout: 60000 });
    const t = setInterval(() => {
      if (s.waiting === 8) { clearInterval(t); process.exit(0); }
    }, 5);`;
  for (let i = 0; i < 3; i++) {
    execFileSync(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'],
                                                     timeout: 60000 });
  }
});

test('a plain wait queued after a guard\'s wait is not taken for a guard\'s', async () => {
  // The second wait's record may be the first one's, reused: if it kept
  // the guard mark, the thread's exit would give back tokens nobody held.
  const s = new Semaphore(0);
  const w = worker(`
    const guard = await sem.hold(2);
    guard.release();
    post('guard released');
    await sem.acquire(3);
    post('plain taken');`, s);
  const gone = exited(w);
  await until(() => s.waiting === 1, 'the guard\'s wait is queued');
  s.release(2);
  assert.equal(await message(w), 'guard released');
  await until(() => s.waiting === 1, 'the plain wait is queued');
  s.release(1);
  assert.equal(await message(w), 'plain taken');
  await gone;
  assert.equal(s.available, 0);
});

test('the worker pool of docs/node.md runs every job, whenever the collector runs', () => {
  // The main thread collects right after posting the shared values: the
  // pool keeps `slots` reachable until its workers exit, so none of them
  // finds the semaphore gone.
  const script = `
    const { Worker } = require('node:worker_threads');
    const { once } = require('node:events');
    const { Semaphore } = require(${JSON.stringify(pkg)});
    (function pool() {   // a scope that ends, as a module's does
    const slots = new Semaphore(4);
    const workers = [];
    for (let i = 0; i < 8; i++) {
      workers.push(new Worker(\`
        const { workerData } = require('node:worker_threads');
        const { Semaphore } = require(workerData.pkg);
        const slots = Semaphore.from(workerData.slots);
        slots.runExclusive(async () => {
          await new Promise((r) => setTimeout(r, 20));
          console.log('job', workerData.job);
        });\`, { eval: true, workerData: { pkg: ${JSON.stringify(pkg)}, slots: slots.share(), job: i } }));
    }
    Promise.all(workers.map((w) => once(w, 'exit'))).then(() => slots.close());
    })();
    gc();
    gc();`;
  const out = execFileSync(process.execPath, ['--expose-gc', '-e', script],
                           { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', timeout: 60000 });
  assert.deepEqual(out.trim().split('\n').sort(), [...Array(8).keys()].map((i) => `job ${i}`).sort());
});
