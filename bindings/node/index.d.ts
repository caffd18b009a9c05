// SPDX-License-Identifier: MIT
// Type declarations for qsem (docs/node.md).
// Guard is Disposable (`using`), whatever lib the program compiles with:
/// <reference lib="esnext.disposable" />

/** Options of `new Semaphore()`. */
export interface SemaphoreOptions {
  /** The most tokens the semaphore may hold (default `MAX_COUNT`). */
  max?: number | undefined;
  /** Serve waiters in strict arrival order; `tryAcquire` fails while anyone waits. */
  fair?: boolean | undefined;
}

/**
 * The `AbortSignal` of the program's own lib (DOM, or Node's types), found
 * through `globalThis` so that these declarations compile without either;
 * with neither, no program can hold a signal, and `signal` takes none.
 */
type LibAbortSignal = typeof globalThis extends { AbortSignal: { prototype: infer S } } ? S : never;

/** Options of `acquire()`, `hold()` and `runExclusive()`. */
export interface AcquireOptions {
  /**
   * Milliseconds to wait: `undefined` or `Infinity` waits forever, `0` tries
   * once; a negative or NaN value is a RangeError.
   */
  timeout?: number | undefined;
  /** Cancels the wait: the promise rejects with `signal.reason`. */
  signal?: LibAbortSignal | undefined;
}

/** What `share()` returns: post it to a worker and open it with `Semaphore.from()`. */
export interface SharedSemaphore {
  readonly type: 'qsem.Semaphore';
  readonly id: number;
  /** Names the copy of qsem that shared it. */
  readonly key: number;
}

/** A counting semaphore whose waits are promises, usable from any worker thread. */
export class Semaphore {
  constructor(initial: number, options?: SemaphoreOptions);

  /** Open, in this thread, the semaphore that `share()` described. */
  static from(value: SharedSemaphore): Semaphore;

  /** A value for `postMessage()` or `workerData` that `Semaphore.from()` opens. */
  share(): SharedSemaphore;

  /** Take `n` tokens if they are free now; never waits.  Throws `ClosedError` once closed. */
  tryAcquire(n?: number): boolean;

  /**
   * Take `n` tokens, waiting without blocking the event loop.  Rejects with
   * TimeoutError, `signal.reason` or ClosedError, having taken nothing.
   */
  acquire(n?: number, options?: AcquireOptions): Promise<void>;

  /** As `acquire()`, resolving to a guard that gives the tokens back. */
  hold(n?: number, options?: AcquireOptions): Promise<Guard>;

  /** Run `fn` holding `n` tokens, and give them back however it ends. */
  runExclusive<T>(fn: () => T | PromiseLike<T>, n?: number, options?: AcquireOptions): Promise<T>;

  /** Give back `n` tokens; a RangeError (and no change) past `max`. */
  release(n?: number): void;

  /** Reject every waiter and every later acquire with ClosedError; release keeps working. */
  close(): void;

  /** Tokens free right now. */
  readonly available: number;
  /** Waits queued right now, in every thread. */
  readonly waiting: number;
  /** The most tokens the semaphore may hold. */
  readonly max: number;
  /** Whether `close()` has run. */
  readonly closed: boolean;
}

/** Tokens taken by `hold()`; gives them back once. */
export class Guard implements Disposable {
  private constructor();
  /** The number of tokens held. */
  readonly n: number;
  /** Whether the tokens were given back. */
  readonly released: boolean;
  /** Give the tokens back; later calls do nothing. */
  release(): void;
  [Symbol.dispose](): void;
}

/** The reason `acquire()` rejects when its timeout passes. */
export class TimeoutError extends Error {
  readonly name: 'TimeoutError';
  readonly code: 'ERR_QSEM_TIMEOUT';
}

/** The reason `acquire()` rejects once the semaphore is closed. */
export class ClosedError extends Error {
  readonly name: 'ClosedError';
  readonly code: 'ERR_QSEM_CLOSED';
}

/** The largest count: `Number.MAX_SAFE_INTEGER`. */
export const MAX_COUNT: number;

/** The core's wait back end: "futex" or "pthread". */
export const backend: string;
