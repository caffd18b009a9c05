// SPDX-License-Identifier: MIT
// index.d.ts in a program that has the DOM lib's AbortSignal and not
// Node's types (tsconfig.dom.json): `signal` is that AbortSignal.
import { Semaphore } from '..';

export async function dom(): Promise<number> {
  const s = new Semaphore(1);
  await s.acquire(1, { signal: new AbortController().signal });
  await s.hold(1, { signal: AbortSignal.timeout(10) });
  // @ts-expect-error a signal is an AbortSignal
  await s.acquire(1, { signal: { aborted: false } });
  return s.available;
}
