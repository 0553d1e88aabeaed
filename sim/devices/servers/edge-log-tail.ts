/**
 * Follows the firmware-bridge emulator's output-event log as it is written (inotify through
 * fs.watch, with a slow poll behind it in case an event is missed) and hands each complete line
 * over: `gate <ch> <0|1> <scheduled µs> <actual µs>` and `level <ch> <0…65535> <µs>`.
 */
import { closeSync, fstatSync, openSync, readSync, watch, type FSWatcher } from 'node:fs';

export class EdgeLogTail {
  private readonly fd: number;
  private readonly watcher: FSWatcher;
  private readonly poll: ReturnType<typeof setInterval>;
  private readonly buffer = Buffer.alloc(65536);
  private position = 0;
  private partial = '';
  private closed = false;

  constructor(
    path: string,
    private readonly onLine: (line: string) => void,
  ) {
    this.fd = openSync(path, 'r');
    this.watcher = watch(path, () => this.drain());
    this.watcher.on('error', () => {});
    this.poll = setInterval(() => this.drain(), 100);
    this.poll.unref();
  }

  /** Reads whatever was appended since the last call. */
  drain(): void {
    if (this.closed) return;
    // The emulator truncates the file when it (re)opens it.
    if (fstatSync(this.fd).size < this.position) {
      this.position = 0;
      this.partial = '';
    }
    for (;;) {
      const n = readSync(this.fd, this.buffer, 0, this.buffer.length, this.position);
      if (n <= 0) return;
      this.position += n;
      const text = this.partial + this.buffer.toString('latin1', 0, n);
      const lines = text.split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) if (line) this.onLine(line);
    }
  }

  close(): void {
    if (this.closed) return;
    this.drain();
    this.closed = true;
    this.watcher.close();
    clearInterval(this.poll);
    closeSync(this.fd);
  }
}
