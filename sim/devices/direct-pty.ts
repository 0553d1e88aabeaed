/**
 * One pseudo-terminal between a driver and an emulated device, without socat in the middle: a
 * process is started with a pty already open — its master as the device end, served straight from
 * the process's event loop — and the driver opens the slave's path as it would /dev/ttyACM0.
 *
 * Why, next to PtyPair: socat joins two ptys and relays between them, so every byte crosses two
 * tty layers and waits for a third process to be scheduled; what a latency benchmark times then is
 * mostly socat. Node cannot open a pty itself (openpty needs ioctls it does not expose), so a short
 * Python launcher makes it (os.openpty, raw mode), hands both ends down by inheritance and execs the
 * real program. The slave stays open in the device process too, so the master never reads EIO
 * when the driver closes and reopens its end. PtyPair stays the way to emulate an unplug (its ttys
 * vanish with socat); a direct pty lives as long as its device process.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync, writeSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { deviceDisconnected, readCancelled, type BindingPort, type ReadResult } from '../../drivers/binding/binding.js';
import { OptoloopError } from '../../src/core/errors.js';

const ENV = 'OPTOLOOP_DIRECT_PTY';

const LAUNCHER = [
  'import os, sys, tty',
  'master, slave = os.openpty()',
  'tty.setraw(slave)',
  'os.set_inheritable(master, True)',
  'os.set_inheritable(slave, True)',
  `os.environ['${ENV}'] = '%d,%d,%s' % (master, slave, os.ttyname(slave))`,
  'os.execvp(sys.argv[1], sys.argv[1:])',
].join('\n');

function python(): string {
  // Debian's interpreter first (it is what the test setup installs); any python3 on PATH will do.
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/** Starts `command args…` with a fresh pty open in it; the child finds it with `inheritedPty()`. */
export function spawnWithDirectPty(command: string, args: readonly string[], options: { stdio?: StdioOptions; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  return spawn(python(), ['-c', LAUNCHER, command, ...args], { stdio: options.stdio ?? 'inherit', env: options.env ?? process.env });
}

export interface InheritedPty {
  /** Device end, served by this process. */
  readonly masterFd: number;
  /** Kept open so that the device end survives the driver closing its end. */
  readonly slaveFd: number;
  /** What the driver opens. */
  readonly slavePath: string;
}

/** The pty a `spawnWithDirectPty` launcher opened for this process, or null if it was not started so. */
export function inheritedPty(env: NodeJS.ProcessEnv = process.env): InheritedPty | null {
  const value = env[ENV];
  if (!value) return null;
  const match = /^(\d+),(\d+),(\/.+)$/.exec(value);
  if (!match) throw new OptoloopError('E_OPTIONS_INVALID', `${ENV}: expected "<master fd>,<slave fd>,<slave path>", got ${JSON.stringify(value)}`, { stage: 'sim.devices' });
  return { masterFd: Number(match[1]), slaveFd: Number(match[2]), slavePath: match[3] };
}

/**
 * The device end of an inherited pty as a BindingPort (what EmulatorLink's `openPort` takes).
 * Reads come from the event loop's own poll of the fd (a tty stream), not from the thread pool as
 * the serial binding's do, so a byte is seen as soon as the loop wakes for it; writes are
 * synchronous non-blocking writes, retried on the next turn if the pty is full.
 */
export class TtyFdPort implements BindingPort {
  private readonly stream: ReadStream;
  private readonly chunks: Buffer[] = [];
  private pending: { buffer: Uint8Array; offset: number; length: number; resolve: (r: ReadResult) => void; reject: (e: unknown) => void } | null = null;
  private open = true;
  private failure: unknown = null;

  constructor(
    private readonly fd: number,
    readonly path: string,
  ) {
    this.stream = new ReadStream(fd);
    this.stream.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.deliver();
    });
    this.stream.on('error', (error) => this.fail(deviceDisconnected(this.path, error)));
    this.stream.on('end', () => this.fail(deviceDisconnected(this.path)));
  }

  get isOpen(): boolean {
    return this.open;
  }

  read(buffer: Uint8Array, offset: number, length: number): Promise<ReadResult> {
    if (!this.open) return Promise.reject(readCancelled(this.path));
    if (this.pending) return Promise.reject(new OptoloopError('E_OPTIONS_INVALID', `${this.path}: a read is already pending`, { stage: 'sim.devices' }));
    return new Promise<ReadResult>((resolve, reject) => {
      this.pending = { buffer, offset, length, resolve, reject };
      this.deliver();
    });
  }

  write(data: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let written = 0;
      const attempt = () => {
        if (!this.open) return reject(deviceDisconnected(this.path));
        try {
          written += this.writeNow(data.subarray(written));
        } catch (error) {
          return reject(error);
        }
        if (written >= data.length) resolve();
        else setImmediate(attempt);
      };
      attempt();
    });
  }

  writeNow(data: Uint8Array): number {
    if (!this.open) throw deviceDisconnected(this.path);
    try {
      return writeSync(this.fd, data);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return 0;
      throw deviceDisconnected(this.path, error);
    }
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    this.stream.destroy();
    const pending = this.pending;
    this.pending = null;
    pending?.reject(readCancelled(this.path));
  }

  async setLowLatency(): Promise<boolean> {
    return false;
  }

  async flush(): Promise<void> {
    this.chunks.length = 0;
  }

  private deliver(): void {
    const pending = this.pending;
    if (!pending) return;
    if (this.failure && this.chunks.length === 0) {
      this.pending = null;
      pending.reject(this.failure);
      return;
    }
    let copied = 0;
    while (this.chunks.length > 0 && copied < pending.length) {
      const chunk = this.chunks[0];
      const n = Math.min(chunk.length, pending.length - copied);
      pending.buffer.set(chunk.subarray(0, n), pending.offset + copied);
      copied += n;
      if (n === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(n);
    }
    if (copied === 0) return;
    this.pending = null;
    pending.resolve({ bytesRead: copied });
  }

  private fail(error: unknown): void {
    if (this.failure) return;
    this.failure = error;
    this.deliver();
  }
}
