import type { Timers } from '../binding/timers.js';

/** A promise that resolves after `delayMs` on `timers`; `cancel()` clears the timer and resolves it at once. */
export function delay(timers: Timers, delayMs: number): { promise: Promise<void>; cancel: () => void } {
  let handle: object | null = null;
  let settle: (() => void) | null = null;
  const promise = new Promise<void>((resolve) => {
    settle = resolve;
    handle = timers.setTimeout(() => {
      handle = null;
      resolve();
    }, delayMs);
  });
  return {
    promise,
    cancel: () => {
      if (handle) timers.clearTimeout(handle);
      handle = null;
      // Resolve so that an awaiting loop wakes and sees that it was cancelled.
      settle?.();
    },
  };
}
