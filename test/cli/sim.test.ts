// optoloop sim writes a recording with its ground truth; python-neo (Debian python3-neo, through
// /usr/bin/python3) reads the raw int16 file with the sidecar's parameters and sees identical
// samples. (The SpikeGLX writer of the io branch is not on main yet: the simulator writes raw
// int16 + a JSON sidecar, which neo reads with RawBinarySignalRawIO.)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CliIo } from '../../src/cli/command.js';
import { main } from '../../src/cli/main.js';
import { artifactDir } from '../helpers/paths.js';

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

test('--serve without registered emulators explains what it would serve', async () => {
  const io = captureIo();
  assert.is(await main(['sim', '--serve'], io), 1);
  assert.match(io.stderr, /sim\/devices/);
});

test('writes a 32-channel recording with ground truth; neo reads identical samples', async () => {
  const io = captureIo();
  const code = await main(['sim', '--out', dir, '--preset', 'cortex', '--channels', '32', '--duration', '3', '--seed', '4', '--light', 'width=5,interval=300,jitter=50,start=0.5'], io);
  assert.is(code, 0, io.stderr);
  for (const f of ['recording.bin', 'recording.json', 'ground_truth.json', 'spikes.csv', 'units.csv', 'light_pulses.csv']) assert.ok(existsSync(join(dir, f)), f);
  const sidecar = JSON.parse(readFileSync(join(dir, 'recording.json'), 'utf8'));
  assert.is(sidecar.channelCount, 32);
  assert.is(sidecar.totalFrames, 90000);
  assert.is(sidecar.probe.name, 'A1x32-Poly3-10mm-50-177');
  const bin = readFileSync(join(dir, 'recording.bin'));
  assert.is(bin.length, 90000 * 32 * 2);
  const ours = createHash('sha256').update(bin).digest('hex');
  const script = [
    'import sys, json, hashlib, numpy as np, neo',
    'r = neo.rawio.RawBinarySignalRawIO(filename=sys.argv[1], dtype="int16", sampling_rate=float(sys.argv[2]), nb_channel=int(sys.argv[3]))',
    'r.parse_header()',
    'n = r.get_signal_size(0, 0, 0)',
    'x = np.ascontiguousarray(r.get_analogsignal_chunk(0, 0, 0, n, 0)).astype("<i2")',
    'print(json.dumps({"frames": int(n), "sha256": hashlib.sha256(x.tobytes()).hexdigest(), "first": x[0, :4].tolist()}))',
  ].join('\n');
  const result = spawnSync('/usr/bin/python3', ['-c', script, join(dir, 'recording.bin'), String(sidecar.sampleRateHz), String(sidecar.channelCount)], { encoding: 'utf8' });
  assert.is(result.status, 0, result.stderr);
  const neo = JSON.parse(result.stdout);
  assert.is(neo.frames, 90000);
  assert.is(neo.sha256, ours);
  assert.equal(neo.first, Array.from(new Int16Array(bin.buffer, bin.byteOffset, 4)));
  const gt = JSON.parse(readFileSync(join(dir, 'ground_truth.json'), 'utf8'));
  assert.is(gt.units.length, 16);
  assert.ok(gt.lightPulses.length >= 8);
  const spikesCsv = readFileSync(join(dir, 'spikes.csv'), 'utf8').trim().split('\n');
  assert.is(spikesCsv.length - 1, gt.spikes.sample.length);
  assert.ok(gt.spikes.evoked.some((e: number) => e === 1), 'some spikes are light-evoked');
});

test.run();
