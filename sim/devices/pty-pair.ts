/**
 * A pair of connected pseudo-terminals made by `socat`, so that a real serial driver (through the
 * real serial binding) talks to an emulated device over a real tty: the driver opens `hostPath`,
 * the emulator opens `devicePath`, and bytes flow both ways unchanged (protocols.md §10.3).
 *
 * `stop()` kills socat: both ttys vanish at once, which is what a pulled USB cable looks like to
 * the driver (its pending read fails, the link path disappears); `start()` brings the pair back
 * under the same link paths, as a re-plugged device that udev gave the same name.
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

/** Every socat we started and have not yet stopped: killed if the process exits first. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGTERM');
  });
}

export class PtyPair {
  readonly dir: string;
  /** The end a driver opens (the "USB serial port" of the rig). */
  readonly hostPath: string;
  /** The end the emulated device opens. */
  readonly devicePath: string;
  private child: ChildProcess | null = null;
  private readonly ownsDir: boolean;

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

  /** Starts socat (if not running) and resolves once both links exist. */
  async start(): Promise<void> {
    if (this.child) return;
    installExitHook();
    // Stale links from a socat that was killed hard would make us think the pair is ready.
    for (const path of [this.hostPath, this.devicePath]) removeIfLink(path);
    const args = ['-d', '-d', `pty,raw,echo=0,link=${this.hostPath}`, `pty,raw,echo=0,link=${this.devicePath}`];
    const child = spawn(this.options.socatPath ?? 'socat', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    live.add(child);
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
        child.once('exit', (code, signal) => fail(`socat exited early (code ${code}, signal ${signal})`));
        child.stderr?.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
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
      live.delete(child);
      this.child = null;
      child.kill('SIGKILL');
      throw error;
    }
    child.once('exit', () => {
      live.delete(child);
      if (this.child === child) this.child = null;
    });
  }

  /** Kills socat and waits for it to exit: both ends vanish and the links are removed. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
    live.delete(child);
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
