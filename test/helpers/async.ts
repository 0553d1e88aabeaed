import type { Observable } from 'rxjs';

/**
 * Resolves with the first value of `source` that satisfies `predicate`. The timeout is only a
 * failure guard (a test that would otherwise hang fails, naming what it waited for); it never
 * decides a result.
 */
export function waitFor<T>(source: Observable<T>, predicate: (value: T) => boolean, what: string, guardMs = 10_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const guard = setTimeout(() => {
      subscription.unsubscribe();
      reject(new Error(`timed out (failure guard ${guardMs} ms) waiting for ${what}`));
    }, guardMs);
    const subscription = source.subscribe({
      next: (value) => {
        if (!predicate(value)) return;
        clearTimeout(guard);
        queueMicrotask(() => subscription.unsubscribe());
        resolve(value);
      },
      error: (error) => {
        clearTimeout(guard);
        reject(error);
      },
      complete: () => {
        clearTimeout(guard);
        reject(new Error(`stream completed while waiting for ${what}`));
      },
    });
  });
}

/** Resolves when `condition()` holds, checking after each turn of the event loop (failure guard as above). */
export async function until(condition: () => boolean, what: string, guardMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > guardMs) throw new Error(`timed out (failure guard ${guardMs} ms) waiting until ${what}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Lets pending promise callbacks and I/O callbacks run (a few turns of the event loop; not a timed sleep). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Resolves as `promise` does, or rejects naming `what` after `ms` (a failure guard, never a result). */
export function withGuard<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const guard = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms)));
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}
