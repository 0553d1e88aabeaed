import type { BindingPort } from '../../drivers/binding/binding.js';

/**
 * Collects what arrives on a port (the host end of a pty pair, used raw) so that a test can await
 * "n bytes have arrived" as an event, with a failure guard instead of a sleep.
 */
export class PortCollector {
  readonly bytes: number[] = [];
  reads = 0;
  private waiters: Array<{ count: number; resolve: () => void }> = [];
  private stopped = false;

  constructor(private readonly port: BindingPort) {
    void this.loop();
  }

  private async loop(): Promise<void> {
    const buffer = new Uint8Array(4096);
    while (!this.stopped) {
      let n: number;
      try {
        n = (await this.port.read(buffer, 0, buffer.length)).bytesRead;
      } catch {
        return;
      }
      this.reads++;
      for (let i = 0; i < n; i++) this.bytes.push(buffer[i]);
      this.waiters = this.waiters.filter((w) => {
        if (this.bytes.length < w.count) return true;
        w.resolve();
        return false;
      });
    }
  }

  /** Resolves once at least `count` bytes have arrived in total. */
  waitForTotal(count: number, guardMs = 10_000): Promise<void> {
    if (this.bytes.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error(`failure guard: ${count} bytes expected, ${this.bytes.length} arrived`)), guardMs);
      this.waiters.push({
        count,
        resolve: () => {
          clearTimeout(guard);
          resolve();
        },
      });
    });
  }

  /** Removes and returns the first `count` bytes once they have arrived. */
  async take(count: number): Promise<number[]> {
    await this.waitForTotal(count);
    return this.bytes.splice(0, count);
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.port.close();
  }
}
