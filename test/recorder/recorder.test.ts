import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isOptoloopError } from '../../src/core/errors.js';
import { join } from 'node:path';
import { ManualClock } from '../../src/core/clock.js';
import type { Int16SampleBlock } from '../../src/core/sample-block.js';
import type { StreamInfo } from '../../src/core/sample-source.js';
import { allocateSpikeBatch, type SnippetBatch } from '../../src/core/spikes.js';
import { ManualTimers } from '../../src/core/timers.js';
import { npyToFloat64, readNpy } from '../../src/io/npy.js';
import { recorderConfigSchema, type RecorderConfig } from '../../src/recorder/config.js';
import { Recorder, type RecorderCounters } from '../../src/recorder/recorder.js';
import * as s from '../../src/config/schema.js';
import { artifactDir } from '../helpers/paths.js';
import { seededRandom } from '../helpers/seeded.js';
import { runSystemPythonFixture } from '../helpers/system-python.js';

interface NeoRecording {
  frames: number;
  tStart: number;
  gain: number;
  samples: number[];
  events: { name: string; count: number; times: number[]; labels: string[] }[];
  spikes: Record<string, { shape: number[]; values: number[] }>;
}

function config(overrides: Partial<RecorderConfig>): RecorderConfig {
  const r = s.validate(recorderConfigSchema, { enabled: true, ...overrides });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

const CHANNELS = 8;
const RATE = 30000;
const UV = 0.195;

function streamInfo(): StreamInfo {
  return {
    streamId: 'probe0',
    sampleRateHz: RATE,
    channelCount: CHANNELS,
    channelNames: Array.from({ length: CHANNELS }, (_, c) => `CH${c + 1}`),
    format: 'int16',
    uvPerCount: new Float32Array(CHANNELS).fill(UV),
    description: 'synthetic',
    totalFrames: null,
  };
}

/** A reused (borrowed) block, rewritten for each emission like a pipeline stage's output. */
function blockSource(seed: number) {
  const random = seededRandom(seed);
  const block = {
    format: 'int16',
    streamId: 'probe0',
    firstSampleIndex: 0,
    sampleRateHz: RATE,
    channelCount: CHANNELS,
    frameCount: 0,
    deviceTimestamp: null,
    hostReceiveTimeNs: 0,
    samples: new Int16Array(512 * CHANNELS),
    uvPerCount: new Float32Array(CHANNELS).fill(UV),
  } as { -readonly [K in keyof Int16SampleBlock]: Int16SampleBlock[K] };
  return {
    block,
    fill(first: number, frames: number, expected: number[]) {
      block.firstSampleIndex = first;
      block.frameCount = frames;
      for (let i = 0; i < frames * CHANNELS; i++) {
        const v = Math.round((random() - 0.5) * 4000);
        block.samples[i] = v;
        expected.push(v);
      }
      return block;
    },
  };
}

test('python-neo and numpy read a recording with identical samples, a gap, TTL stimuli, labels and spikes', async () => {
  const dir = artifactDir('recorder/neo');
  rmSync(dir, { recursive: true, force: true });
  const clock = new ManualClock();
  const timers = new ManualTimers(clock);
  const flushed: RecorderCounters[] = [];
  const recorder = new Recorder(config({ directory: dir, flushIntervalMs: 100 }), { timers, onFlushed: (c) => flushed.push({ ...c }) });
  const recordingDir = await recorder.start({ stream: streamInfo(), sessionName: 'session', waveform: { channels: 2, samples: 5, samplesBefore: 2 } });
  const source = blockSource(11);
  const expected: number[] = [];
  const first = 90_000; // the stream began before recording did
  let index = first;
  const sampleNumbers: number[] = [];
  for (let b = 0; b < 40; b++) {
    const frames = 30 + ((b * 37) % 200);
    if (b === 25) index += 777; // a gap (frames lost upstream): visible in sample_numbers, no zero filling
    recorder.writeBlock(source.fill(index, frames, expected));
    for (let f = 0; f < frames; f++) sampleNumbers.push(index + f);
    index += frames;
    if (b % 10 === 9) timers.advanceMs(100);
  }
  // Spikes with snippets: 2 channels × 5 samples each.
  const batch = allocateSpikeBatch('probe0', RATE, 4) as SnippetBatch;
  Object.assign(batch, { samplesBefore: 2, samplesAfter: 2, snippetLength: 5, neighbourCapacity: 2, channels: new Int32Array(8), waveformsUv: new Float32Array(40) });
  batch.count = 3;
  for (let k = 0; k < 3; k++) {
    batch.peakSampleIndex[k] = first + 100 * (k + 1);
    batch.peakChannel[k] = k + 2;
    batch.unitId[k] = k === 1 ? -1 : k + 10;
    for (let j = 0; j < 10; j++) batch.waveformsUv[k * 10 + j] = (k * 10 + j - 20) * UV * 3;
  }
  recorder.writeSpikes(batch);
  recorder.writeStimulus(first + 300, 0b10, 150, 2, 600); // output 1 → TTL line 2, two 5 ms pulses 20 ms apart
  recorder.writeLabel(first + 50, 'optotagging started');
  await recorder.stop();
  assert.is(recorder.counters.framesOverflowed, 0);
  assert.is(recorder.counters.framesOnDisk, sampleNumbers.length);
  assert.ok(flushed.length >= 4, `flushes confirmed: ${flushed.length}`);

  // Our own reading: continuous.dat and sample_numbers.npy as written.
  const streamDir = join(recordingDir, 'continuous', 'optoloop-100.probe0');
  const dat = readFileSync(join(streamDir, 'continuous.dat'));
  const ours = new Int16Array(dat.buffer, dat.byteOffset, dat.length / 2);
  assert.equal(Array.from(ours), expected);
  assert.equal(Array.from(npyToFloat64(readNpy(join(streamDir, 'sample_numbers.npy')).data)), sampleNumbers);

  const neo = runSystemPythonFixture('neo_recording.py', [dir]) as NeoRecording;
  assert.is(neo.frames, sampleNumbers.length);
  assert.is(neo.tStart, first / RATE);
  assert.ok(Math.abs(neo.gain - UV) < 1e-6);
  assert.equal(neo.samples, expected, 'identical samples');
  const ttl = neo.events.find((e) => e.name === 'TTL')!;
  assert.ok(ttl, `TTL channel among ${neo.events.map((e) => e.name)}`);
  assert.equal(ttl.times, [(first + 300) / RATE, (first + 900) / RATE], 'two pulse onsets');
  assert.equal(ttl.labels, ['2', '2']);
  const messages = neo.events.find((e) => e.name === 'Messages')!;
  assert.equal(messages.labels, ['optotagging started']);
  assert.equal(messages.times, [(first + 50) / RATE]);
  assert.equal(neo.spikes['sample_numbers.npy'].values, [first + 100, first + 200, first + 300]);
  assert.equal(neo.spikes['clusters.npy'].values, [11, 0, 13], 'unit id + 1, 0 for unassigned');
  assert.equal(neo.spikes['electrode_indices.npy'].values, [2, 3, 4]);
  assert.equal(neo.spikes['waveforms.npy'].shape, [3, 2, 5]);
  assert.equal(neo.spikes['waveforms.npy'].values, Array.from({ length: 30 }, (_, i) => (i - 20) * 3));
});

test('a full queue drops blocks and counts them; occupancy reports the fill', async () => {
  const dir = artifactDir('recorder/overflow');
  rmSync(dir, { recursive: true, force: true });
  const clock = new ManualClock();
  const timers = new ManualTimers(clock);
  // 2 chunks of 100 ms (3000 frames × 8 ch × 2 B = 48 kB): the minimum pool.
  const recorder = new Recorder(config({ directory: dir, flushIntervalMs: 100, queueMiB: 0.05 }), { timers });
  await recorder.start({ stream: streamInfo(), sessionName: 's' });
  const source = blockSource(3);
  const sink: number[] = [];
  assert.is(recorder.occupancy, 0);
  let accepted = 0;
  let refused = 0;
  // Without yielding, the writer thread cannot return any chunk: only 2 × 3000 frames fit.
  for (let b = 0; b < 100; b++) (recorder.writeBlock(source.fill(b * 300, 300, sink)) ? accepted++ : refused++);
  assert.is(accepted, 20);
  assert.is(refused, 80);
  assert.is(recorder.counters.blocksOverflowed, 80);
  assert.is(recorder.counters.framesOverflowed, 80 * 300);
  assert.is(recorder.occupancy, 1);
  await recorder.stop();
  assert.is(recorder.counters.framesOnDisk, 6000);
});

test('blocks that do not fit the stream are refused and counted, not written', async () => {
  const dir = artifactDir('recorder/mismatch');
  rmSync(dir, { recursive: true, force: true });
  const recorder = new Recorder(config({ directory: dir }), { timers: new ManualTimers(new ManualClock()) });
  await recorder.start({ stream: streamInfo(), sessionName: 's' });
  const source = blockSource(4);
  const wrong = { ...source.fill(0, 10, []), channelCount: CHANNELS + 1 };
  assert.is(recorder.writeBlock(wrong), false);
  assert.is(recorder.counters.blocksRejected, 1);
  await recorder.stop();
  assert.is(recorder.counters.framesOnDisk, 0);
});

test('a recording folder that cannot be created fails start() with E_FILE_WRITE naming it', async () => {
  const dir = artifactDir('recorder/unwritable');
  rmSync(dir, { recursive: true, force: true });
  writeFileSync(join(artifactDir('recorder'), 'a-file'), 'not a folder');
  const recorder = new Recorder(config({ directory: join(artifactDir('recorder'), 'a-file') }), { timers: new ManualTimers(new ManualClock()) });
  try {
    await recorder.start({ stream: streamInfo(), sessionName: 's' });
    assert.unreachable('started inside a file');
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_FILE_WRITE'), String(error));
    assert.match((error as Error).message, 'a-file');
  }
  assert.is(recorder.writeBlock(blockSource(1).fill(0, 10, [])), false);
});

test.run();
