import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { firstValueFrom, filter, timeout } from 'rxjs';
import type { Observable } from 'rxjs';
import { EmulatorProcess, buildEmulator, type EmulatorOptions } from '../../../drivers/firmware-bridge/emulator.js';
import { FirmwareBridgeSink, type FirmwareBridgeSinkDeps } from '../../../drivers/firmware-bridge/sink.js';
import type { FirmwareBridgeSinkConfig } from '../../../drivers/firmware-bridge/config.js';
import { artifactDir } from '../../helpers/paths.js';

export interface GateEdge {
  readonly channel: number;
  readonly on: boolean;
  readonly scheduledUs: number;
  readonly actualUs: number;
}

export interface Rig {
  readonly dir: string;
  readonly linkPath: string;
  readonly logPath: string;
  emulator: EmulatorProcess;
  readonly sink: FirmwareBridgeSink;
  /** Gate edges the emulator logged (what the board would have emitted). */
  edges(): GateEdge[];
  restart(): Promise<void>;
  dispose(): Promise<void>;
}

/** One emulator on a pty and a sink connected to it through the real serial binding. */
export async function startRig(
  name: string,
  emulator: Partial<EmulatorOptions> = {},
  sink: Partial<FirmwareBridgeSinkConfig> = {},
  deps: FirmwareBridgeSinkDeps = {},
): Promise<Rig> {
  buildEmulator();
  const dir = artifactDir(`firmware-bridge-${name}-${process.pid}`);
  const linkPath = join(dir, 'tty');
  const logPath = join(dir, 'events.log');
  rmSync(logPath, { force: true });
  const options: EmulatorOptions = { linkPath, logPath, ...emulator };
  let emu = await EmulatorProcess.start(options);
  // Warnings still reach warnings$; keep them off the console.
  const bridge = new FirmwareBridgeSink({ path: linkPath, requestTimeoutMs: 2000, ...sink }, { log: { warn: () => undefined }, ...deps });
  const rig: Rig = {
    dir,
    linkPath,
    logPath,
    emulator: emu,
    sink: bridge,
    edges: () =>
      readFileSync(logPath, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('gate '))
        .map((l) => {
          const [, channel, on, scheduledUs, actualUs] = l.split(' ');
          return { channel: Number(channel), on: on === '1', scheduledUs: Number(scheduledUs), actualUs: Number(actualUs) };
        }),
    async restart() {
      emu = await EmulatorProcess.start({ ...options, logPath: `${logPath}.2` });
      rig.emulator = emu;
    },
    async dispose() {
      await bridge.close().catch(() => undefined);
      await rig.emulator.stop();
    },
  };
  return rig;
}

/** The first value of `source` that passes `predicate`; the timeout only guards against a hang. */
export function next<T>(source: Observable<T>, predicate: (value: T) => boolean = () => true, guardMs = 10_000): Promise<T> {
  return firstValueFrom(source.pipe(filter(predicate), timeout(guardMs)));
}

export const MANUAL = { reason: 'manual', streamId: null, sampleIndex: null, sourceReceiveTimeNs: null } as const;
