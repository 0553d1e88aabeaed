import { mkdirSync } from 'node:fs';
import { OptoloopError } from '../../core/errors.js';
import { GROUND_TRUTH_FILES, writeGroundTruth } from '../../../sim/ground-truth-writer.js';
import { parseLightProtocol, schedulePulses } from '../../../sim/light-protocol.js';
import type { SimOptionsInput } from '../../../sim/options.js';
import { BUNDLED_PROBES } from '../../../sim/probe.js';
import { createRecordingWriter, type RecordingFormat } from '../../../sim/recording-writers.js';
import { SERVE_FAULTS, simDeviceServers, type ServeFault } from '../../../sim/serve.js';
import { createSimulation } from '../../../sim/simulation.js';
import { parseCommandArgs, usageError, type CliIo, type Command } from '../command.js';
import { EXTRA_PORT_NAMES, parsePorts, serveSimulation } from '../sim-serve.js';

const HELP = `Usage: optoloop sim --out DIR [options]
       optoloop sim --serve [options]

Generates a ground-truth recording: units of real cell types placed around a real probe geometry,
each with its own waveform, firing statistics and (with the opsin) light response, over thermal
noise, multi-unit background, drift and optional mains; then writes the samples and what is in
them. The same seed and options give the same bytes. With --serve it runs live instead, behind
emulated devices that third-party software and optoloop's own drivers connect to.

Recording:
  --out DIR              Folder to write (created if missing): the samples (see --format) and the
                         ground truth: ${GROUND_TRUTH_FILES.json}, ${GROUND_TRUTH_FILES.spikes}, ${GROUND_TRUTH_FILES.units},
                         ${GROUND_TRUTH_FILES.pulses}.
  --format FMT           spikeglx (default): sim_g0_t0.imec0.ap.bin + .meta (SpikeGLX, readable by
                         SpikeGLX tools, python-neo and optoloop); raw: recording.bin (int16 LE,
                         interleaved) + recording.bin.json sidecar + probe.json.
  --duration S           Seconds to generate (default 60).
  --preset NAME          cortex (pyramidal, PV, SST, VIP; default) or cerebellum (PkC_ss, PkC_cs, MLI,
                         GoC, MFB).
  --channels N           Recording channels (default 384: Neuropixels 1.0 bank 0; 32: NeuroNexus A1x32).
  --probe NAME|FILE      ${BUNDLED_PROBES.join(', ')}, a probeinterface JSON file,
                         or auto (default).
  --units N              Foreground units (default: half the channel count; a Purkinje cell is 2 units).
  --seed N               Random seed (default 1).
  --opsin TYPE[,TYPE]    Cell types expressing the opsin (default: cortex PV, cerebellum PkC_ss;
                         none for no opsin).
  --light PROTOCOL       none (default), optotag (10 ms pulses every 1 ± 0.25 s from 2 s), or
                         key=value pairs: width=ms,interval=ms,jitter=ms,start=s,count=N,level=0..1
                         (keys left out take optotag's values: width=10,interval=1000,jitter=250,
                         start=2, until the end, level=1), e.g.
                         --light width=5,interval=500,jitter=100,count=200
  --snr MIN:MAX          Unit SNR range (peak amplitude / noise σ; default 4:25).
  --noise-uv X           Thermal noise σ per channel, µV (default 6 on Neuropixels, 4 otherwise).
  --line-noise HZ        0 (default), 50 or 60: mains interference.
  --drift-um X           Sinusoidal drift amplitude, µm (default 2; 0 and --drift-walk 0 for none).
  --drift-walk X         Random-walk drift, µm/√s (default 0.3).
  --artefact-uv X        Light artefact at pulse onset/offset, µV (default 40; 0 for none).
  --background N         Background multi-unit units per channel (default 1).

Devices (--serve):
  --serve                Run the simulator in real time and serve emulated devices that speak the
                         real protocols, until Ctrl-C (SIGINT/SIGTERM): for each, one line with what
                         it is and where to connect, then the rig-config lines that use it. The
                         simulation options above apply; --duration S stops it after S seconds.
                           intan-rhx        Intan RHX TCP command + waveform servers: the
                                            simulation's samples (0.195 µV/count; ports A… in 128s)
                           spikeglx         SpikeGLX remote command server: FETCH serves the
                                            simulation's samples (imec stream js 2, ip 0)
                           pulsepal         Pulse Pal 2 on a pty: each train it plays lights the
                                            simulated site (width, count, interval as programmed,
                                            level = phase-1 volts / 5 V)
                           thorlabs         Thorlabs DC4104 on a pty: an LED on lights the site
                                            until it goes off (level = mA / 100, or brightness)
                           openbci          OpenBCI Cyton on a pty: its own seeded EEG-like signal
                           firmware-bridge  our firmware bridge's host emulator on a pty: every
                                            gate edge it emits lights the site
                         Light reaches the simulation 1 ms after the command does.
  --devices LIST         Comma-separated names from the list above (default: all; a default device
                         that cannot start, e.g. no g++ for firmware-bridge, is skipped and said so).
  --host ADDR            Address the TCP servers bind (default 127.0.0.1; warns when not loopback).
  --ports NAME=PORT,…    Fixed ports (default: any free port, printed), e.g.
                         intan-rhx=5000,intan-rhx-waveform=5001,spikeglx=4142 (the RHX waveform port
                         defaults to the command port + 1 when that is given).
  --pty-dir DIR          Folder for the pseudo-terminal links (default: a temporary folder, removed
                         at exit), e.g. /tmp/rig: then /tmp/rig/pulsepal, /tmp/rig/thorlabs, …
  --faults LIST          Transport faults for testing your own software: fragment (replies cut into
                         random pieces), garbage (noise bytes between messages), disconnect (every
                         --fault-interval: TCP connections reset, serial devices unplugged for 1 s).
  --fault-interval S     Seconds between disconnects (default 30).
  --out DIR              With --serve: keep the ground truth and write it there when stopped
                         (${GROUND_TRUTH_FILES.json}, ${GROUND_TRUTH_FILES.spikes}, ${GROUND_TRUTH_FILES.units}, ${GROUND_TRUTH_FILES.pulses}).

  -h, --help             Show this help.

Exit status: 0 written (or served and stopped), 1 failure, 2 wrong usage.`;

export const simCommand: Command = {
  name: 'sim',
  summary: 'Generate a ground-truth recording with the simulator (or serve emulated devices)',
  help: HELP,
  async run(argv, io) {
    const { values } = parseCommandArgs('sim', {
      args: [...argv],
      options: {
        out: { type: 'string' },
        format: { type: 'string' },
        duration: { type: 'string' },
        preset: { type: 'string' },
        channels: { type: 'string' },
        probe: { type: 'string' },
        units: { type: 'string' },
        seed: { type: 'string' },
        opsin: { type: 'string' },
        light: { type: 'string' },
        snr: { type: 'string' },
        'noise-uv': { type: 'string' },
        'line-noise': { type: 'string' },
        'drift-um': { type: 'string' },
        'drift-walk': { type: 'string' },
        'artefact-uv': { type: 'string' },
        background: { type: 'string' },
        serve: { type: 'boolean' },
        devices: { type: 'string' },
        host: { type: 'string' },
        ports: { type: 'string' },
        'pty-dir': { type: 'string' },
        faults: { type: 'string' },
        'fault-interval': { type: 'string' },
      },
      allowPositionals: false,
    });
    const num = (name: string, text: string | undefined, integer = false): number | undefined => {
      if (text === undefined) return undefined;
      const n = Number(text);
      if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) throw usageError('sim', `--${name}: expected ${integer ? 'an integer' : 'a number'}, got ${JSON.stringify(text)}`);
      return n;
    };
    const options: Record<string, unknown> = {};
    const set = (key: string, value: unknown) => {
      if (value !== undefined) options[key] = value;
    };
    set('preset', values.preset);
    set('channels', num('channels', values.channels, true));
    set('probe', values.probe);
    set('units', num('units', values.units, true));
    set('seed', num('seed', values.seed, true));
    if (values.opsin !== undefined) options.opsin = values.opsin === 'none' ? [] : values.opsin.split(',').map((x) => x.trim());
    if (values.snr !== undefined) {
      const m = /^([\d.]+):([\d.]+)$/.exec(values.snr);
      if (!m) throw usageError('sim', `--snr: expected MIN:MAX, e.g. 4:25, got ${JSON.stringify(values.snr)}`);
      options.snrMin = Number(m[1]);
      options.snrMax = Number(m[2]);
    }
    set('noiseUv', num('noise-uv', values['noise-uv']));
    set('lineNoiseHz', num('line-noise', values['line-noise'], true));
    set('driftUm', num('drift-um', values['drift-um']));
    set('driftWalkUmPerSqrtS', num('drift-walk', values['drift-walk']));
    set('artefactUv', num('artefact-uv', values['artefact-uv']));
    set('backgroundPerChannel', num('background', values.background));
    const durationS = num('duration', values.duration) ?? 60;
    if (!(durationS > 0)) throw usageError('sim', `--duration: expected a positive number of seconds, got ${durationS}`);
    options.durationHintS = durationS;
    if (values.serve) {
      for (const flag of ['format', 'light'] as const) {
        if (values[flag] !== undefined) throw usageError('sim', `--${flag} applies to recordings (--out without --serve) only`);
      }
      // Served runs are open-ended: the drift bound follows the schema's long default unless told.
      if (values.duration === undefined) delete options.durationHintS;
      return serveCommand(options as SimOptionsInput, values, values.duration === undefined ? null : durationS, io);
    }
    for (const flag of ['devices', 'host', 'ports', 'pty-dir', 'faults', 'fault-interval'] as const) {
      if (values[flag] !== undefined) throw usageError('sim', `--${flag} applies to --serve only`);
    }
    if (!values.out) throw usageError('sim', '--out DIR is required (or --serve)');
    const protocol = parseLightProtocol(values.light ?? 'none');
    const format = values.format ?? 'spikeglx';
    if (format !== 'spikeglx' && format !== 'raw') throw usageError('sim', `--format: expected spikeglx or raw, got ${JSON.stringify(format)}`);
    return record(options as SimOptionsInput, values.out, format, durationS, protocol, io);
  },
};

async function record(options: SimOptionsInput, dir: string, format: RecordingFormat, durationS: number, protocol: ReturnType<typeof parseLightProtocol>, io: CliIo): Promise<number> {
  const sim = createSimulation(options);
  const generator = sim.generator;
  const rate = sim.options.sampleRateHz;
  const total = Math.round(durationS * rate);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (cause) {
    throw new OptoloopError('E_FILE_WRITE', `${dir}: cannot create the output folder (${(cause as Error).message})`, { stage: 'sim', cause });
  }
  if (protocol) {
    const pulses = schedulePulses(protocol, rate, total, sim.options.seed);
    if (pulses.length === 0) io.err(`optoloop sim: warning: --light places no pulse within ${durationS} s (it starts at ${protocol.startS} s)\n`);
    for (const p of pulses) generator.addPulse(p);
  }
  const layout = generator.layout;
  const description = `optoloop sim: ${sim.preset.name} on ${layout.probeName}, seed ${sim.options.seed}`;
  const writer = createRecordingWriter({ dir, format, sampleRateHz: rate, uvPerCount: sim.uvPerCount, layout, description });
  const chunkFrames = Math.round(rate / 10);
  const buffer = new Int16Array(chunkFrames * layout.channelCount);
  const started = performance.now();
  let stop = false;
  void io.interrupted.then(() => (stop = true));
  let lastProgress = 0;
  while (generator.position < total && !stop) {
    const frames = Math.min(chunkFrames, total - generator.position);
    generator.generate(buffer, frames);
    writer.writeFrames(buffer, frames);
    if (io.isTty && performance.now() - lastProgress > 250) {
      lastProgress = performance.now();
      io.err(`\roptoloop sim: ${(generator.position / rate).toFixed(1)} / ${durationS} s`);
      await new Promise((r) => setImmediate(r));
    }
  }
  if (io.isTty) io.err('\n');
  const files = writer.close();
  files.push(...writeGroundTruth(sim, dir));
  const seconds = (performance.now() - started) / 1000;
  const fg = sim.units.filter((u) => !u.background);
  const gt = generator.groundTruth;
  io.out(
    `${description}\n` +
      `${(generator.position / rate).toFixed(3)} s × ${layout.channelCount} channels in ${seconds.toFixed(1)} s (${(generator.position / rate / seconds).toFixed(1)}× real time)${stop ? ' — interrupted, what was generated is written' : ''}\n` +
      `${fg.length} units (${summariseTypes(fg.map((u) => u.type))}), ${fg.filter((u) => u.lightResponsive).length} light-responsive, ${sim.units.length - fg.length} background; ${gt.spikeCount} spikes, ${gt.pulses.length} light pulses\n` +
      files.map((f) => `  ${f}`).join('\n') +
      '\n',
  );
  return 0;
}

function serveCommand(
  options: SimOptionsInput,
  values: { devices?: string; host?: string; ports?: string; 'pty-dir'?: string; faults?: string; 'fault-interval'?: string; out?: string },
  durationS: number | null,
  io: CliIo,
): Promise<number> {
  const names = simDeviceServers.map((s) => s.name);
  const list = (flag: string, text: string, allowed: readonly string[]): string[] => {
    const items = text.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
    for (const item of items) if (!allowed.includes(item)) throw usageError('sim', `--${flag}: "${item}" is not one of ${allowed.join(', ')}`);
    if (items.length === 0) throw usageError('sim', `--${flag}: expected a comma-separated list of ${allowed.join(', ')}`);
    return [...new Set(items)];
  };
  const devices = values.devices === undefined ? null : list('devices', values.devices, names);
  const faults = new Set(values.faults === undefined ? [] : (list('faults', values.faults, SERVE_FAULTS) as ServeFault[]));
  const faultIntervalS = values['fault-interval'] === undefined ? 30 : Number(values['fault-interval']);
  if (!(faultIntervalS >= 2)) throw usageError('sim', `--fault-interval: expected a number of seconds ≥ 2, got ${JSON.stringify(values['fault-interval'])}`);
  let ports: Record<string, number>;
  try {
    ports = parsePorts(values.ports, [...names, ...EXTRA_PORT_NAMES]);
  } catch (error) {
    throw usageError('sim', (error as Error).message);
  }
  const host = values.host ?? '127.0.0.1';
  if (!host.trim()) throw usageError('sim', '--host: expected an address to bind, e.g. 127.0.0.1');
  return serveSimulation(options, { devices, host, ports, ptyDir: values['pty-dir'] ?? null, faults, faultIntervalS, outDir: values.out ?? null, durationS }, io);
}

function summariseTypes(types: string[]): string {
  const counts = new Map<string, number>();
  for (const t of types) counts.set(t, (counts.get(t) ?? 0) + 1);
  return [...counts].map(([t, n]) => `${n} ${t}`).join(', ');
}
