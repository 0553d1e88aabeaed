import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/core/package-root.js';
import { OptoloopError } from '../../src/core/errors.js';

/**
 * Builds and runs the firmware-bridge emulator: the firmware's own core (firmware-bridge/lib),
 * compiled for the host by `make` + g++, serving the protocol on a pseudo-terminal. Drivers,
 * tests and the simulator talk to it exactly as to a board.
 */

export interface EmulatorOptions {
  /** Where the emulator links its pty's slave end (the driver opens this path). */
  readonly linkPath: string;
  /** Output-event log (gate edges, levels), one line each; none when omitted. */
  readonly logPath?: string;
  /** File that receives the stream packets; without it the emulator reports no streaming. */
  readonly streamOutPath?: string;
  readonly outputs?: number;
  readonly streamChannels?: number;
  readonly streamMaxRateHz?: number;
  readonly deviceId?: number;
  readonly seed?: number;
  readonly clockStartUs?: number;
  /** Inject line noise (closed by a delimiter) before every n-th frame. */
  readonly garbageEvery?: number;
  /** Write frames one byte at a time, this many µs apart. */
  readonly byteDelayUs?: number;
  /** Report every n-th stream packet as dropped (endpoint full). */
  readonly streamDropEvery?: number;
}

export function emulatorPath(): string {
  return join(packageRoot(), 'build', 'firmware-bridge', 'optoloop-bridge-emulator');
}

/** Runs `make` in firmware-bridge/host (incremental; the Makefile renames the binary atomically). */
export function buildEmulator(): string {
  const result = spawnSync('make', ['-s', '-C', join(packageRoot(), 'firmware-bridge', 'host')], { encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    throw new OptoloopError(
      'E_INTERNAL',
      `firmware-bridge emulator: make failed (${result.error?.message ?? `exit ${result.status}`}): ${result.stderr ?? ''}; g++ and make are needed`,
      { stage: 'drivers/firmware-bridge' },
    );
  }
  const path = emulatorPath();
  if (!existsSync(path)) throw new OptoloopError('E_INTERNAL', `firmware-bridge emulator: make succeeded but ${path} is missing`, { stage: 'drivers/firmware-bridge' });
  return path;
}

export class EmulatorProcess {
  private exitPromise: Promise<number | null>;
  private exited = false;

  private constructor(
    readonly child: ChildProcess,
    readonly ptyPath: string,
    readonly options: EmulatorOptions,
  ) {
    this.exitPromise = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        this.exited = true;
        resolve(child.exitCode);
        return;
      }
      child.once('exit', (code) => {
        this.exited = true;
        resolve(code);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Starts the emulator and resolves once it printed READY (its pty exists and is linked). */
  static async start(options: EmulatorOptions, startTimeoutMs = 10_000): Promise<EmulatorProcess> {
    const binary = existsSync(emulatorPath()) ? emulatorPath() : buildEmulator();
    const args = ['--link', options.linkPath];
    const add = (flag: string, value: number | string | undefined): void => {
      if (value !== undefined) args.push(flag, String(value));
    };
    add('--log', options.logPath);
    add('--stream-out', options.streamOutPath);
    add('--outputs', options.outputs);
    add('--stream-channels', options.streamChannels);
    add('--stream-max-rate', options.streamMaxRateHz);
    add('--device-id', options.deviceId);
    add('--seed', options.seed);
    add('--clock-start-us', options.clockStartUs);
    add('--garbage-every', options.garbageEvery);
    add('--byte-delay-us', options.byteDelayUs);
    add('--stream-drop-every', options.streamDropEvery);
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let errors = '';
    child.stderr?.on('data', (d: Buffer) => (errors += d.toString()));
    const ptyPath = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new OptoloopError('E_DEVICE_TIMEOUT', `firmware-bridge emulator did not start within ${startTimeoutMs} ms: ${errors}`, { stage: 'drivers/firmware-bridge' }));
      }, startTimeoutMs);
      child.stdout?.on('data', (d: Buffer) => {
        output += d.toString();
        const pty = output.match(/^PTY (\S+)$/m);
        if (pty && /^READY$/m.test(output)) {
          clearTimeout(timer);
          resolve(pty[1]);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new OptoloopError('E_DEVICE_NOT_FOUND', `firmware-bridge emulator exited (${code ?? signal}) before READY: ${errors}`, { stage: 'drivers/firmware-bridge' }));
      });
    });
    return new EmulatorProcess(child, ptyPath, options);
  }

  /** Sends a signal (SIGKILL: the device vanishes; SIGSTOP: it falls silent; SIGCONT: it resumes). */
  signal(signal: NodeJS.Signals): void {
    if (!this.exited) this.child.kill(signal);
  }

  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exitPromise;
  }

  /** Asks the emulator to stop (SIGTERM) and waits for it. */
  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGTERM');
    await this.exitPromise;
  }
}
