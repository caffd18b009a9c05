// SPDX-License-Identifier: MIT
// index.d.ts in a program without Node's types, the DOM lib, the
// Disposable lib or lax optional properties (tsconfig.bare.json): an
// explicit undefined is an absent option, as at run time.
import { Semaphore, Guard } from '..';

export async function bare(): Promise<number> {
  const s = new Semaphore(2, { max: undefined, fair: undefined });
  await s.acquire(1, { timeout: undefined, signal: undefined });
  const g: Guard = await s.hold(1, { timeout: 5 });
  g[Symbol.dispose]();
  // @ts-expect-error a timeout is a number of milliseconds
  await s.acquire(1, { timeout: '5' });
  return s.available;
}
