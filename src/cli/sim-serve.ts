/**
 * `optoloop sim --serve`: runs the simulator in real time and serves the emulated devices around
 * it (sim/serve.ts), printing for each where to connect and the rig-config lines that use it, until
 * Ctrl-C (or --duration); then stops every device (no socat or emulator process left behind) and,
 * with --out, writes the run's ground truth.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OptoloopError } from '../core/errors.js';
import { writeGroundTruth } from '../../sim/ground-truth-writer.js';
import type { SimOptionsInput } from '../../sim/options.js';
import { simDeviceServers, type RunningDevice, type ServeFault } from '../../sim/serve.js';
import { SimSource } from '../../sim/sim-source.js';
import type { CliIo } from './command.js';

export interface ServeSettings {
  /** Device names to serve; null: every registered one (those that cannot start are skipped). */
  readonly devices: readonly string[] | null;
  readonly host: string;
  readonly ports: Readonly<Record<string, number>>;
  /** Folder for the pty links; null: a fresh temporary folder, removed at the end. */
  readonly ptyDir: string | null;
  readonly faults: ReadonlySet<ServeFault>;
  readonly faultIntervalS: number;
  /** Where to write the ground truth when stopped; null: none kept. */
  readonly outDir: string | null;
  /** Stop by itself after this long; null: at Ctrl-C only. */
  readonly durationS: number | null;
}

/** Port names `--ports` accepts beyond the device names. */
export const EXTRA_PORT_NAMES = ['intan-rhx-waveform'];

export function isLoopback(host: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1' || host === 'localhost';
}

export async function serveSimulation(options: SimOptionsInput, settings: ServeSettings, io: CliIo): Promise<number> {
  const wanted = settings.devices ?? simDeviceServers.map((s) => s.name);
  const servers = wanted.map((name) => simDeviceServers.find((s) => s.name === name)!);
  if (!isLoopback(settings.host)) {
    io.err(
      `optoloop sim --serve: warning: serving on ${settings.host}, not the loopback address: anyone who can reach it can read the ` +
        'simulated stream and drive the emulated devices; nothing is authenticated\n',
    );
  }
  const source = new SimSource({ ...options, keepGroundTruth: settings.outDir !== null });
  const sim = source.simulation;
  await source.open();
  const ownsPtyDir = settings.ptyDir === null;
  const ptyDir = settings.ptyDir ?? mkdtempSync(join(tmpdir(), 'optoloop-sim-serve-'));
  if (!ownsPtyDir) mkdirSync(ptyDir, { recursive: true });
  const rate = sim.options.sampleRateHz;
  const foreground = sim.units.filter((u) => !u.background);
  io.out(
    `optoloop sim --serve: ${sim.preset.name} preset on ${sim.generator.layout.probeName} (${sim.generator.channelCount} channels, ${rate} Hz), seed ${sim.options.seed}: ` +
      `${foreground.length} units, ${foreground.filter((u) => u.lightResponsive).length} light-responsive\n`,
  );
  const running: { name: string; device: RunningDevice }[] = [];
  let stopTimer: ReturnType<typeof setTimeout> | null = null;
  try {
    for (const server of servers) {
      let device: RunningDevice;
      try {
        device = await server.start({
          simulation: sim,
          source,
          host: settings.host,
          ports: settings.ports,
          ptyDir,
          faults: settings.faults,
          faultIntervalMs: settings.faultIntervalS * 1000,
          seed: sim.options.seed,
          log: (line) => io.err(`${server.name}: ${line}\n`),
        });
      } catch (error) {
        // A device asked for by name must start; from the default set, one that cannot (no g++ for
        // the firmware bridge, a port in use) is skipped with the reason.
        if (settings.devices !== null) throw error;
        io.err(`optoloop sim --serve: ${server.name} not served: ${(error as Error).message}\n`);
        continue;
      }
      running.push({ name: server.name, device });
      io.out(`${server.name}: ${server.description} at ${device.address}\n  ${device.config}\n${device.notes.map((n) => `  ${n}\n`).join('')}`);
    }
    if (running.length === 0) throw new OptoloopError('E_DEVICE_NOT_FOUND', 'no device could be served', { stage: 'sim --serve' });
    await source.start();
    const started = performance.now();
    io.out(
      `optoloop sim --serve: serving ${running.length} device${running.length === 1 ? '' : 's'} in real time` +
        `${settings.durationS !== null ? ` for ${settings.durationS} s` : ''}; Ctrl-C to stop\n`,
    );
    const elapsed = settings.durationS !== null ? new Promise<void>((resolve) => (stopTimer = setTimeout(resolve, settings.durationS! * 1000))) : new Promise<void>(() => {});
    await Promise.race([io.interrupted, elapsed]);
    const seconds = (performance.now() - started) / 1000;
    io.out(`optoloop sim --serve: stopping after ${seconds.toFixed(1)} s (${sim.generator.position} samples simulated)\n`);
  } finally {
    if (stopTimer) clearTimeout(stopTimer);
    const failures: string[] = [];
    for (const { name, device } of running.reverse()) {
      if (device.summary) io.out(`${name}: ${device.summary()}\n`);
      await device.stop().catch((error: unknown) => failures.push(`${name}: ${(error as Error).message}`));
    }
    await source.close();
    if (ownsPtyDir) rmSync(ptyDir, { recursive: true, force: true });
    for (const f of failures) io.err(`optoloop sim --serve: stopping ${f}\n`);
  }
  if (settings.outDir !== null) {
    try {
      mkdirSync(settings.outDir, { recursive: true });
    } catch (cause) {
      throw new OptoloopError('E_FILE_WRITE', `${settings.outDir}: cannot create the output folder (${(cause as Error).message})`, { stage: 'sim --serve', cause });
    }
    const files = writeGroundTruth(sim, settings.outDir);
    const gt = sim.generator.groundTruth;
    io.out(`ground truth: ${gt.spikeCount} spikes, ${gt.pulses.length} light pulses\n${files.map((f) => `  ${f}\n`).join('')}`);
  }
  io.out('optoloop sim --serve: every device closed\n');
  return 0;
}

/** `--ports name=port,…` → ports by name (0…65535). */
export function parsePorts(text: string | undefined, known: readonly string[]): Record<string, number> {
  const ports: Record<string, number> = {};
  if (text === undefined) return ports;
  for (const part of text.split(',')) {
    const [name, value, ...rest] = part.split('=').map((x) => x.trim());
    const port = Number(value);
    if (!known.includes(name) || rest.length || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw new OptoloopError('E_CLI_USAGE', `--ports: "${part}": expected NAME=PORT with NAME one of ${known.join(', ')} and PORT 0…65535`, { stage: 'cli' });
    }
    ports[name] = port;
  }
  return ports;
}

