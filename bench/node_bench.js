// SPDX-License-Identifier: MIT
'use strict';
// qsem's Node.js front end against the semaphores of the npm ecosystem.
//
//   node bench/node_bench.js [--quick] [--rounds N] [--json FILE]
//
// Benchmarks (each round runs every contender once, in turn, so that the
// load of the machine falls on all of them alike):
//   try      uncontended tryAcquire() + release()    (async-sema only: the
//            others have no synchronous try)
//   await    uncontended await acquire() + release()
//   handoff  two async functions in one loop passing one token back and
//            forth through two semaphores
//   workers  the same handoff between the main thread and a worker: qsem
//            against a SharedArrayBuffer counter with Atomics.waitAsync
//
// Prints, per benchmark, ns per operation for each contender (median and
// min-max over the rounds) and the ratio to the fastest peer (median and
// min-max of the per-round ratios), in wall time and in the process's CPU
// time (process.cpuUsage).  On a loaded machine the CPU time is the
// steadier: it leaves out the time the process waits for a core.  For the
// workers benchmark it counts both threads, so only wall time is shown.  With --quick it runs briefly, as a
// smoke test.  Peers come from bindings/node's devDependencies (NODE_PATH
// or bindings/node/node_modules).  --json FILE also writes every sample
// there, for bench/report.py.

const path = require('node:path');
const { Worker } = require('node:worker_threads');

const root = path.join(__dirname, '..');
function peer(name) {
  try {
    return require(name);
  } catch {
    return require(path.join(root, 'bindings', 'node', 'node_modules', name));
  }
}

const qsem = require(path.join(root, 'bindings', 'node'));
const { Sema } = peer('async-sema');
const { Semaphore: MutexSemaphore } = peer('async-mutex');
const { AsyncSemaphore } = peer('@esfx/async-semaphore');

const quick = process.argv.includes('--quick');
const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : quick ? 2 : 7;
const jsonArg = process.argv.indexOf('--json');
const JSON_PATH = jsonArg > 0 ? process.argv[jsonArg + 1] : null;
const N = quick ? 2000 : 200000;
const N_HANDOFF = quick ? 1000 : 50000;
const N_WORKERS = quick ? 500 : 20000;

function check(cond, what) {
  if (!cond) throw new Error(`node_bench: ${what}`);
}

// {=====================================================================
// Contenders: each `make*` returns an async function running `n` operations
// =====================================================================

const tryBench = {
  qsem() {
    const s = new qsem.Semaphore(1);
    return async (n) => {
      for (let i = 0; i < n; i++) {
        if (!s.tryAcquire()) throw new Error('lost a token');
        s.release();
      }
      check(s.available === 1, 'qsem count');
    };
  },
  'async-sema'() {
    const s = new Sema(1);
    return async (n) => {
      for (let i = 0; i < n; i++) {
        const t = s.tryAcquire();
        if (t === undefined) throw new Error('lost a token');
        s.release(t);
      }
    };
  },
};

const awaitBench = {
  qsem() {
    const s = new qsem.Semaphore(1);
    return async (n) => {
      for (let i = 0; i < n; i++) {
        await s.acquire();
        s.release();
      }
      check(s.available === 1, 'qsem count');
    };
  },
  'async-sema'() {
    const s = new Sema(1);
    return async (n) => {
      for (let i = 0; i < n; i++) {
        await s.acquire();
        s.release();
      }
    };
  },
  'async-mutex'() {
    const s = new MutexSemaphore(1);
    return async (n) => {
      for (let i = 0; i < n; i++) {
        const [, release] = await s.acquire();
        release();
      }
      check(s.getValue() === 1, 'async-mutex count');
    };
  },
  '@esfx/async-semaphore'() {
    const s = new AsyncSemaphore(1);
    return async (n) => {
      for (let i = 0; i < n; i++) {
        await s.wait();
        s.release();
      }
      check(s.count === 1, 'esfx count');
    };
  },
};

// A ping-pong over two semaphores that start empty.
function pingPong(make, acquire, release) {
  return () => {
    const ping = make();
    const pong = make();
    return async (n) => {
      const a = (async () => {
        for (let i = 0; i < n; i++) {
          await acquire(ping);
          release(pong);
        }
      })();
      const b = (async () => {
        for (let i = 0; i < n; i++) {
          release(ping);
          await acquire(pong);
        }
      })();
      await Promise.all([a, b]);
    };
  };
}

const handoffBench = {
  qsem: pingPong(() => new qsem.Semaphore(0), (s) => s.acquire(), (s) => s.release()),
  'async-sema': pingPong(() => {
    const s = new Sema(1);
    s.tryAcquire();  // start empty
    return s;
  }, (s) => s.acquire(), (s) => s.release()),
  'async-mutex': pingPong(() => new MutexSemaphore(0), (s) => s.acquire(), (s) => s.release()),
  '@esfx/async-semaphore': pingPong(() => new AsyncSemaphore(0), (s) => s.wait(),
                                    (s) => s.release()),
};

// The worker side of the cross-thread handoff, for both contenders.
const workerCode = `
  const { parentPort, workerData } = require('node:worker_threads');
  const { kind, n, shared, pkg } = workerData;
  let acquire, release;
  if (kind === 'qsem') {
    const { Semaphore } = require(pkg);
    const ping = Semaphore.from(shared.ping), pong = Semaphore.from(shared.pong);
    acquire = () => ping.acquire();
    release = () => pong.release();
  } else {
    const a = new Int32Array(shared);
    acquire = async () => {
      for (;;) {
        const v = Atomics.load(a, 0);
        if (v > 0) { if (Atomics.compareExchange(a, 0, v, v - 1) === v) return; continue; }
        const r = Atomics.waitAsync(a, 0, v);
        if (r.async) await r.value;
      }
    };
    release = () => { Atomics.add(a, 1, 1); Atomics.notify(a, 1); };
  }
  // Atomics.waitAsync() does not keep a loop alive; this timer does.
  const alive = setInterval(() => {}, 1 << 30);
  parentPort.postMessage('ready');
  (async () => {
    for (let i = 0; i < n; i++) { await acquire(); release(); }
    clearInterval(alive);
    parentPort.postMessage('done');
  })();`;

function workerPingPong(kind) {
  return () => async (n) => {
    let shared, acquire, release, settled;
    if (kind === 'qsem') {
      const ping = new qsem.Semaphore(0);
      const pong = new qsem.Semaphore(0);
      shared = { ping: ping.share(), pong: pong.share() };
      acquire = () => pong.acquire();
      release = () => ping.release();
      settled = () => ping.available === 0 && pong.available === 0;
    } else {
      shared = new SharedArrayBuffer(8);
      const a = new Int32Array(shared);
      acquire = async () => {
        for (;;) {
          const v = Atomics.load(a, 1);
          if (v > 0) {
            if (Atomics.compareExchange(a, 1, v, v - 1) === v) return;
            continue;
          }
          const r = Atomics.waitAsync(a, 1, v);
          if (r.async) await r.value;
        }
      };
      release = () => { Atomics.add(a, 0, 1); Atomics.notify(a, 0); };
      settled = () => Atomics.load(a, 0) === 0 && Atomics.load(a, 1) === 0;
    }
    const pkg = path.join(root, 'bindings', 'node');
    const w = new Worker(workerCode, { eval: true, workerData: { kind, n, shared, pkg } });
    const messages = [];
    const next = () => new Promise((resolve, reject) => {
      messages.push(resolve);
      w.once('error', reject);
    });
    w.on('message', (m) => messages.shift()(m));
    const ready = next();
    const done = next();
    const exited = new Promise((resolve) => w.once('exit', resolve));
    const alive = setInterval(() => {}, 1 << 30);  // as in the worker
    await ready;  // time the handoffs, not the worker's start
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      release();
      await acquire();
    }
    const elapsed = Number(process.hrtime.bigint() - t0);
    clearInterval(alive);
    await done;
    await exited;
    check(settled(), `${kind} counts after the worker handoff`);
    return elapsed;
  };
}

const workersBench = {
  qsem: workerPingPong('qsem'),
  'SAB+Atomics.waitAsync': workerPingPong('atomics'),
};

// }=====================================================================

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmt(x) {
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

// Every benchmark's samples, for --json: {id, title, unit, impls}.
const results = [];

async function run(title, contenders, n) {
  const names = Object.keys(contenders);
  const ns = Object.fromEntries(names.map((k) => [k, []]));
  const cpu = Object.fromEntries(names.map((k) => [k, []]));
  // Warm-up, untimed.
  for (const k of names) await contenders[k]()(Math.min(n, 1000));
  for (let r = 0; r < ROUNDS; r++) {
    for (const k of names) {
      const fn = contenders[k]();
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      const own = await fn(n);  // a contender may time itself (workers)
      const elapsed = typeof own === 'number' ? own : Number(process.hrtime.bigint() - t0);
      const used = process.cpuUsage(c0);
      ns[k].push(elapsed / n);
      cpu[k].push(((used.user + used.system) * 1000) / n);
    }
  }
  const withCpu = !title.startsWith('workers');
  const range = (xs) => `[${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}]`;
  console.log(`\n${title} (${n} operations x ${ROUNDS} rounds; ns/op: median [min-max])`);
  for (const k of names) {
    console.log(`  ${k.padEnd(24)} wall ${fmt(median(ns[k])).padStart(8)} ${range(ns[k])}` +
                (withCpu ? `  cpu ${fmt(median(cpu[k])).padStart(8)} ${range(cpu[k])}` : ''));
  }
  results.push({
    id: title.split(':')[0], param: 0, title, unit: 'ns per operation',
    impls: names.map((k) => ({ name: k, samples: ns[k], capped: false })),
  });
  const peers = names.filter((k) => k !== 'qsem');
  for (const [what, t] of withCpu ? [['wall', ns], ['cpu', cpu]] : [['wall', ns]]) {
    const fastest = peers.reduce((a, b) => (median(t[a]) <= median(t[b]) ? a : b));
    const ratios = t.qsem.map((q, i) => q / t[fastest][i]);
    console.log(`  qsem / ${fastest} (${what}): ${median(ratios).toFixed(2)} ` +
                `[${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}]`);
  }
}

(async () => {
  console.log(`node ${process.version}, qsem back end ${qsem.backend}` +
              (quick ? ', quick mode (figures meaningless)' : ''));
  await run('try: uncontended tryAcquire() + release()', tryBench, N);
  await run('await: uncontended await acquire() + release()', awaitBench, N);
  await run('handoff: two async functions, one loop', handoffBench, N_HANDOFF);
  await run('workers: main thread <-> worker handoff', workersBench, N_WORKERS);
  if (JSON_PATH) {
    require('node:fs').writeFileSync(JSON_PATH, JSON.stringify({
      tool: 'node_bench', node: process.version, backend: qsem.backend, repeats: ROUNDS, quick,
      benchmarks: results,
    }));
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
