// SPDX-License-Identifier: MIT
// Compiled with `tsc --noEmit` to check index.d.ts against typical use.
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { Semaphore, Guard, TimeoutError, ClosedError, MAX_COUNT, SharedSemaphore } from '..';

async function main(): Promise<number> {
  const s = new Semaphore(4, { max: 8, fair: true });
  const ok: boolean = s.tryAcquire(2);
  await s.acquire(1, { timeout: 100, signal: AbortSignal.timeout(50) });
  const g: Guard = await s.hold(1);
  g.release();
  {
    using held = await s.hold(2);
    const n: number = held.n;
    void n;
  }
  const r: string = await s.runExclusive(async () => 'done', 2);
  s.release(3);
  const shared: SharedSemaphore = s.share();
  if (isMainThread) new Worker(__filename, { workerData: shared });
  else Semaphore.from(workerData as SharedSemaphore);
  try {
    await s.acquire();
  } catch (err) {
    if (err instanceof TimeoutError || err instanceof ClosedError) return err.code.length;
  }
  s.close();
  return s.available + s.waiting + s.max + Number(s.closed) + MAX_COUNT + Number(ok) + r.length;
}

void main();
