/**
 * Crash safety: a recorder in a child process is killed with SIGKILL mid-recording. What survives
 * must be valid files (python-neo and our reader open them), hold exactly the samples generated up
 * to what the writer had confirmed, and lose at most about one flush interval.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { npyToFloat64, readNpy, readNpyHeader } from '../../src/io/npy.js';
import { artifactDir } from '../helpers/paths.js';
import { runSystemPythonFixture } from '../helpers/system-python.js';

const RATE = 30000;
const FIRST = 12_345;
const sampleAt = (index: number, channel: number) => ((index * 7 + channel * 131) % 4001) - 2000;

test('after kill -9: valid files, exact samples up to the last confirmed flush, at most about one flush interval lost', async () => {
  const dir = artifactDir('recorder/crash');
  rmSync(dir, { recursive: true, force: true });
  const channels = 32;
  const flushIntervalMs = 200;
  const killAfterFrames = 45_000; // 1.5 s, paced at real time
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../fixtures/recorder-child.ts', import.meta.url)), dir, String(flushIntervalMs), String(killAfterFrames), String(channels)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const { signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, sig) => resolve({ code, signal: sig })));
  assert.is(signal, 'SIGKILL', `child ended by SIGKILL (stderr: ${err})`);
  const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { flushed?: number; generated?: number; recordingDir?: string });
  const recordingDir = lines.find((l) => l.recordingDir)!.recordingDir!;
  const generated = lines.find((l) => l.generated !== undefined)!.generated!;
  const confirmed = Math.max(0, ...lines.filter((l) => l.flushed !== undefined).map((l) => l.flushed!));
  assert.is(generated, killAfterFrames);

  // What is on disk.
  const streamDir = join(recordingDir, 'continuous', 'optoloop-100.probe0');
  const datBytes = statSync(join(streamDir, 'continuous.dat')).size;
  const frameBytes = channels * 2;
  const datFrames = Math.floor(datBytes / frameBytes);
  const header = readNpyHeader(join(streamDir, 'sample_numbers.npy'));
  const counted = header.shape[0];
  const lostFrames = generated - counted;
  console.log(
    `  kill -9 after ${generated} frames (${(generated / RATE).toFixed(2)} s, ${channels} ch): continuous.dat holds ${datFrames} frames` +
      `${datBytes % frameBytes ? ` + ${datBytes % frameBytes} bytes of a partial frame` : ''}, sample_numbers.npy counts ${counted}, ` +
      `writer had confirmed ${confirmed}; lost ${lostFrames} frames = ${((lostFrames / RATE) * 1000).toFixed(0)} ms (flush interval ${flushIntervalMs} ms)`,
  );
  assert.ok(datBytes % frameBytes === 0, 'continuous.dat holds whole frames');
  assert.ok(counted >= confirmed, 'everything the writer confirmed survived');
  assert.ok(counted <= datFrames, 'sample_numbers.npy never counts more frames than continuous.dat holds');
  assert.ok(counted > 0);
  // One interval plus the chunk being written when the kill came; a generous bound for a loaded machine.
  assert.ok(lostFrames <= 2 * (flushIntervalMs / 1000) * RATE, `lost ${lostFrames} frames, more than two flush intervals`);
  JSON.parse(readFileSync(join(recordingDir, 'structure.oebin'), 'utf8'));

  // Our reader: the samples and their numbers are exact.
  const dat = readFileSync(join(streamDir, 'continuous.dat'));
  const samples = new Int16Array(dat.buffer, dat.byteOffset, datFrames * channels);
  for (let f = 0; f < datFrames; f++) for (let c = 0; c < channels; c++) if (samples[f * channels + c] !== sampleAt(FIRST + f, c)) assert.unreachable(`sample (${f}, ${c}) differs`);
  const numbers = npyToFloat64(readNpy(join(streamDir, 'sample_numbers.npy')).data);
  assert.is(numbers.length, counted);
  assert.is(numbers[0], FIRST);
  assert.is(numbers[counted - 1], FIRST + counted - 1);

  // python-neo opens the killed recording and sees the same samples.
  const neo = runSystemPythonFixture('neo_recording.py', [dir]) as { frames: number; tStart: number; samples: number[] };
  assert.is(neo.frames, datFrames);
  assert.is(neo.tStart, FIRST / RATE);
  for (let i = 0; i < neo.samples.length; i += 997) assert.is(neo.samples[i], samples[i], `neo sample ${i}`);
  assert.is(neo.samples.length, datFrames * channels);
});

test.run();
