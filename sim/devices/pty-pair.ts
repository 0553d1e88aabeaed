/**
 * A pair of connected pseudo-terminals made by `socat`, so that a real serial driver (through the
 * real serial binding) talks to an emulated device over a real tty: the driver opens `hostPath`,
 * the emulator opens `devicePath`, and bytes flow both ways unchanged (protocols.md §10.3).
 *
 * `stop()` kills socat: both ttys vanish at once, which is what a pulled USB cable looks like to
 * the driver (its pending read fails, the link path disappears); `start()` brings the pair back
 * under the same link paths, as a re-plugged device that udev gave the same name.
 *
 * socat runs under a small `sh` that watches its stdin, a pipe from this process: when this process
 * ends in any way — close(), a crash, SIGKILL — the pipe closes and socat is stopped, so no socat
 * outlives the test or `sim --serve` that made it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { lstatSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OptoloopError } from '../../src/core/errors.js';

export interface PtyPairOptions {
  /** Folder for the two links; default a fresh temporary folder, removed by `close()`. */
  readonly dir?: string;
  /** Link names inside `dir` (defaults `host` and `device`). */
  readonly hostName?: string;
  readonly deviceName?: string;
  readonly socatPath?: string;
  /** Failure guard for socat to create the links (default 5000 ms). */
  readonly startTimeoutMs?: number;
}

/**
 * Runs socat in the background, prints its pid, and stops it when stdin (fd 3 here) reaches end
 * of file; exits with socat's status, after socat has exited (and removed its links).
 */
const WRAPPER = [
  'bin=$1; shift',
  'exec 3<&0',
  '"$bin" "$@" 3<&- &',
  'pid=$!',
  'echo "optoloop-socat-pid $pid" >&2',
  '(read -r _ <&3; kill $pid 2>/dev/null) &',
  'wait $pid',
].join('\n');

export class PtyPair {
  readonly dir: string;
  /** The end a driver opens (the "USB serial port" of the rig). */
  readonly hostPath: string;
  /** The end the emulated device opens. */
  readonly devicePath: string;
  private child: ChildProcess | null = null;
  private readonly ownsDir: boolean;
  private pid: number | null = null;

  private constructor(private readonly options: PtyPairOptions) {
    this.ownsDir = options.dir === undefined;
    this.dir = options.dir ?? mkdtempSync(join(tmpdir(), 'optoloop-pty-'));
    this.hostPath = join(this.dir, options.hostName ?? 'host');
    this.devicePath = join(this.dir, options.deviceName ?? 'device');
  }

  /** Creates the pair and waits until both links exist. */
  static async create(options: PtyPairOptions = {}): Promise<PtyPair> {
    const pair = new PtyPair(options);
    await pair.start();
    return pair;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** The running socat's process id (null when stopped). */
  get socatPid(): number | null {
    return this.child ? this.pid : null;
  }

  /** Starts socat (if not running) and resolves once both links exist. */
  async start(): Promise<void> {
    if (this.child) return;
    // Stale links from a socat that was killed hard would make us think the pair is ready.
    for (const path of [this.hostPath, this.devicePath]) removeIfLink(path);
    const args = ['-d', '-d', `pty,raw,echo=0,link=${this.hostPath}`, `pty,raw,echo=0,link=${this.devicePath}`];
    const child = spawn('sh', ['-c', WRAPPER, 'sh', this.options.socatPath ?? 'socat', ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child = child;
    this.pid = null;
    let stderr = '';
    const guardMs = this.options.startTimeoutMs ?? 5000;
    try {
      await new Promise<void>((resolve, reject) => {
        const guard = setTimeout(() => fail(`socat did not create ${this.hostPath} and ${this.devicePath} within ${guardMs} ms`), guardMs);
        const fail = (message: string, cause?: unknown) => {
          clearTimeout(guard);
          child.stderr?.removeAllListeners('data');
          reject(new OptoloopError('E_DEVICE_NOT_FOUND', `pty pair: ${message}${stderr ? `; socat said: ${stderr.trim()}` : ''}`, { stage: 'sim/devices', cause }));
        };
        child.once('error', (error) => fail(`cannot run socat (${(error as Error).message}); install it: apt-get install socat`, error));
        child.once('exit', (code, signal) =>
          fail(code === 127 ? 'cannot run socat (not found); install it: apt-get install socat' : `socat exited early (code ${code}, signal ${signal})`),
        );
        child.stderr?.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          const pid = /optoloop-socat-pid (\d+)/.exec(stderr);
          if (pid) {
            this.pid = Number(pid[1]);
            stderr = stderr.replace(pid[0], '').trimStart();
          }
          // socat logs this once both addresses (and so both links) are open.
          if (/starting data transfer loop/.test(stderr) && isLink(this.hostPath) && isLink(this.devicePath)) {
            clearTimeout(guard);
            child.removeAllListeners('exit');
            child.removeAllListeners('error');
            child.stderr?.removeAllListeners('data');
            child.stderr?.resume(); // keep draining so socat never blocks on a full pipe
            resolve();
          }
        });
      });
    } catch (error) {
      this.child = null;
      child.stdin?.end();
      child.kill('SIGKILL');
      throw error;
    }
    child.once('exit', () => {
      child.stdin?.end(); // ends the watcher if socat died on its own
      if (this.child === child) this.child = null;
    });
  }

  /** Stops socat and waits for it to exit: both ends vanish and the links are removed. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      // End of file on the watcher's stdin: it stops socat, and the shell exits once socat has.
      child.stdin?.end();
    });
    for (const path of [this.hostPath, this.devicePath]) removeIfLink(path);
  }

  /** A replug: stop, then start again under the same paths. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Stops socat and removes the temporary folder if this pair made it. */
  async close(): Promise<void> {
    await this.stop();
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function removeIfLink(path: string): void {
  if (isLink(path)) unlinkSync(path);
}
