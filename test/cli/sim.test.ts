// optoloop sim writes a recording with its ground truth through the io module's writers; python-neo
// (Debian python3-neo, through /usr/bin/python3) reads the SpikeGLX output (SpikeGLXRawIO) and the
// raw output (RawBinarySignalRawIO) with samples identical to the simulation regenerated here.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CliIo } from '../../src/cli/command.js';
import { main } from '../../src/cli/main.js';
import { artifactDir } from '../helpers/paths.js';
import { runSystemPython, runSystemPythonFixture } from '../helpers/system-python.js';
import { parseLightProtocol, schedulePulses } from '../../sim/light-protocol.js';
import { createSimulation } from '../../sim/simulation.js';

function captureIo(): CliIo & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', isTty: false, interrupted: new Promise<void>(() => {}), out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
}

const dir = artifactDir('sim-cli');
rmSync(dir, { recursive: true, force: true });

test('--help documents every option', async () => {
  const io = captureIo();
  assert.is(await main(['sim', '--help'], io), 0);
  for (const flag of ['--out', '--duration', '--preset', '--channels', '--seed', '--units', '--opsin', '--light', '--serve', '--probe']) assert.ok(io.stdout.includes(flag), flag);
});

test('usage errors exit 2 and say what was expected', async () => {
  let io = captureIo();
  assert.is(await main(['sim'], io), 2);
  assert.match(io.stderr, /--out DIR is required/);
  io = captureIo();
  assert.is(await main(['sim', '--out', dir, '--light', 'width=abc'], io), 2);
  assert.match(io.stderr, /--light/);
  io = captureIo();
  assert.is(await main(['sim', '--out', dir, '--channels', '9999'], io), 1);
  assert.match(io.stderr, /E_OPTIONS_INVALID/);
});

test('--serve lists every registered device in its help', async () => {
  const io = captureIo();
  assert.is(await main(['sim', '--help'], io), 0);
  for (const name of ['intan-rhx', 'spikeglx', 'pulsepal', 'thorlabs', 'openbci', 'firmware-bridge', '--devices', '--ports', '--faults', '--host']) assert.ok(io.stdout.includes(name), name);
});

const ARGS = ['--preset', 'cortex', '--channels', '32', '--duration', '3', '--seed', '4', '--light', 'width=5,interval=300,jitter=50,start=0.5'];

/** The same simulation regenerated in-process: what the files must hold, sample for sample. */
function expectedSamples(): { samples: Int16Array; uvPerCount: number } {
  const sim = createSimulation({ preset: 'cortex', channels: 32, seed: 4, durationHintS: 3 });
  for (const p of schedulePulses(parseLightProtocol('width=5,interval=300,jitter=50,start=0.5')!, 30000, 90000, 4)) sim.generator.addPulse(p);
  const samples = new Int16Array(90000 * 32);
  sim.generator.generate(samples, 90000);
  return { samples, uvPerCount: sim.uvPerCount[0] };
}

test('SpikeGLX output (default): python-neo reads identical samples and the µV scale; ground truth beside it', async () => {
  const out = join(dir, 'spikeglx');
  const io = captureIo();
  assert.is(await main(['sim', '--out', out, ...ARGS], io), 0, io.stderr);
  for (const f of ['sim_g0_t0.imec0.ap.bin', 'sim_g0_t0.imec0.ap.meta', 'ground_truth.json', 'spikes.csv', 'units.csv', 'light_pulses.csv']) assert.ok(existsSync(join(out, f)), f);
  const neo = (runSystemPythonFixture('neo_read.py', ['spikeglx', out]) as { streams: { name: string; frames: number; gains: number[]; samples: number[]; channelNames: string[] }[] }).streams;
  assert.is(neo.length, 1);
  assert.is(neo[0].frames, 90000);
  assert.is(neo[0].channelNames.length, 32);
  const expected = expectedSamples();
  assert.ok(Math.abs(neo[0].gains[0] - expected.uvPerCount) < 1e-9, `neo scale ${neo[0].gains[0]}`);
  assert.is(neo[0].samples.length, expected.samples.length);
  let differing = 0;
  for (let i = 0; i < expected.samples.length; i++) if (neo[0].samples[i] !== expected.samples[i]) differing++;
  assert.is(differing, 0);
  const gt = JSON.parse(readFileSync(join(out, 'ground_truth.json'), 'utf8'));
  assert.is(gt.units.length, 16);
  assert.ok(gt.lightPulses.length >= 8);
  const spikesCsv = readFileSync(join(out, 'spikes.csv'), 'utf8').trim().split('\n');
  assert.is(spikesCsv.length - 1, gt.spikes.sample.length);
  assert.ok(gt.spikes.evoked.some((e: number) => e === 1), 'some spikes are light-evoked');
});

test('raw output: recording.bin + sidecar; neo RawBinarySignalRawIO reads identical samples', async () => {
  const out = join(dir, 'raw');
  const io = captureIo();
  assert.is(await main(['sim', '--out', out, '--format', 'raw', ...ARGS], io), 0, io.stderr);
  const sidecar = JSON.parse(readFileSync(join(out, 'recording.bin.json'), 'utf8'));
  assert.is(sidecar.channelCount, 32);
  assert.is(sidecar.probeFile, 'probe.json');
  const bin = readFileSync(join(out, 'recording.bin'));
  const ours = createHash('sha256').update(bin).digest('hex');
  const expected = expectedSamples().samples;
  assert.is(createHash('sha256').update(new Uint8Array(expected.buffer)).digest('hex'), ours);
  const script = [
    'import sys, json, hashlib, numpy as np, neo',
    'r = neo.rawio.RawBinarySignalRawIO(filename=sys.argv[1], dtype="int16", sampling_rate=float(sys.argv[2]), nb_channel=int(sys.argv[3]))',
    'r.parse_header()',
    'n = r.get_signal_size(0, 0, 0)',
    'x = np.ascontiguousarray(r.get_analogsignal_chunk(0, 0, 0, n, 0)).astype("<i2")',
    'print(json.dumps({"frames": int(n), "sha256": hashlib.sha256(x.tobytes()).hexdigest()}))',
  ].join('\n');
  const neo = runSystemPython(script, [join(out, 'recording.bin'), String(sidecar.sampleRateHz), String(sidecar.channelCount)]) as { frames: number; sha256: string };
  assert.is(neo.frames, 90000);
  assert.is(neo.sha256, ours);
});

test.run();
