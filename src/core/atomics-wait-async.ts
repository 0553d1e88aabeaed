/**
 * Atomics.waitAsync (ES2024; Node ≥ 16), which the ES2023 lib this project builds against does not
 * declare: waits on an Int32 cell without blocking the event loop. `async: false` when it did not
 * have to wait (the cell no longer held `value`, or the timeout was 0).
 */
interface AtomicsWaitAsync {
  waitAsync(cells: Int32Array, index: number, value: number, timeoutMs?: number): { async: false; value: string } | { async: true; value: Promise<string> };
}

export function atomicsWaitAsync(cells: Int32Array, index: number, value: number, timeoutMs?: number): { async: false; value: string } | { async: true; value: Promise<string> } {
  return (Atomics as unknown as AtomicsWaitAsync).waitAsync(cells, index, value, timeoutMs);
}
