import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { OpenEphysRecordingWriter } from '../../../src/io/openephys/writer.js';
import { readNpy, readNpyHeader } from '../../../src/io/npy.js';
import { OpenEphysReader } from '../../../src/io/openephys/reader.js';
import { firstDifference, replayAll } from '../../helpers/replay.js';
import { isOptoloopError } from '../../../src/core/errors.js';
import type { Int16SampleBlock } from '../../../src/core/sample-block.js';
import { artifactDir } from '../../helpers/paths.js';
import { randomInt16 } from '../../helpers/seeded.js';
import { runSystemPython, runSystemPythonFixture } from '../../helpers/system-python.js';

interface NeoStream {
  name: string;
  channelNames: string[];
  units: string[];
  gains: number[];
  sampleRate: number;
  tStart: number;
  frames: number;
  samples: number[];
}

function freshDir(name: string): string {
  rmSync(artifactDir(join('io-openephys-writer', name)), { recursive: true, force: true });
  return artifactDir(join('io-openephys-writer', name));
}

test('python-neo and our reader read our recording: identical int16 samples, bit_volts, names, t_start; .npy headers right after close', async () => {
  const dir = freshDir('neo');
  const n = 7;
  const frames = 3001;
  const samples = randomInt16(n * frames, 3);
  const uv = Float32Array.from({ length: n }, (_, c) => 0.195 * (1 + (c % 3)));
  const recording = new OpenEphysRecordingWriter({ directory: dir });
  const stream = recording.addContinuousStream({ streamName: 'ProbeA', sampleRateHz: 30000, channelCount: n, uvPerCount: uv, bufferFrames: 500 });
  const scratch = new Int16Array(128 * n);
  const first = 123456;
  for (let f = 0; f < frames; ) {
    const count = Math.min(frames - f, 1 + ((f * 13) % 128));
    scratch.set(samples.subarray(f * n, (f + count) * n));
    const block: Int16SampleBlock = {
      format: 'int16', streamId: 'x', sampleRateHz: 30000, channelCount: n, frameCount: count, firstSampleIndex: first + f,
      deviceTimestamp: null, hostReceiveTimeNs: 0, samples: scratch, uvPerCount: uv,
    };
    stream.write(block);
    scratch.fill(0);
    f += count;
  }
  recording.addMessage('optotagging started', first + 10);
  recording.close();

  const neo = (runSystemPythonFixture('neo_read.py', ['openephys', dir]) as { streams: NeoStream[] }).streams;
  assert.is(neo.length, 1);
  const s = neo[0];
  assert.is(s.name, 'Record Node 101#optoloop-100.ProbeA');
  assert.is(s.frames, frames);
  assert.is(s.sampleRate, 30000);
  assert.is(s.tStart, first / 30000);
  assert.equal(s.channelNames, Array.from({ length: n }, (_, c) => `CH${c + 1}`));
  assert.ok(s.units.every((u) => u === 'uV'));
  s.gains.forEach((g, c) => assert.is(Math.fround(g), uv[c]));
  assert.equal(s.samples, Array.from(samples));

  const folder = join(stream.dir);
  const sampleNumbers = readNpy(join(folder, 'sample_numbers.npy'));
  assert.equal([...sampleNumbers.shape], [frames]);
  assert.is(Number((sampleNumbers.data as BigInt64Array)[frames - 1]), first + frames - 1);
  const timestamps = readNpy(join(folder, 'timestamps.npy'));
  assert.is((timestamps.data as Float64Array)[5], (first + 5) / 30000);
  const messages = runSystemPython(
    `import json, sys, numpy as np; d = sys.argv[1]; t = np.load(d + "/text.npy"); s = np.load(d + "/sample_numbers.npy"); print(json.dumps({"text": [x.decode() for x in t], "samples": s.tolist()}))`,
    [join(recording.eventsDir, 'MessageCenter')],
  );
  assert.equal(messages, { text: ['optotagging started'], samples: [first + 10] });

  const ours = new OpenEphysReader(dir);
  assert.equal(Array.from(ours.info.uvPerCount!), Array.from(uv));
  assert.is(ours.firstSampleIndex, first);
  assert.equal(ours.notes, []);
  const replay = await replayAll(ours, 100);
  assert.is(firstDifference(replay.samples, samples), -1);
  assert.is(replay.blocks[2].firstSampleIndex, first + 200);
});

test('aux and ADC channels are written in V with their kind, and read back as analog channels', async () => {
  const dir = freshDir('kinds');
  const recording = new OpenEphysRecordingWriter({ directory: dir });
  const stream = recording.addContinuousStream({
    streamName: 'Rhythm', sampleRateHz: 20000, channelCount: 3, uvPerCount: [0.195, 37.4, 152.587890625],
    channelKinds: ['electrode', 'aux', 'adc'], channelNames: ['A-000', 'AUX1', 'ADC1'],
  });
  const samples = randomInt16(3 * 500, 12);
  stream.writeFrames(samples, 500);
  recording.close();
  const oebin = JSON.parse(readFileSync(recording.oebinPath, 'utf8'));
  assert.equal(oebin.continuous[0].channels.map((c: { units: string; type: number }) => [c.units, c.type]), [['uV', 0], ['V', 1], ['V', 2]]);
  const neural = new OpenEphysReader(dir);
  assert.equal(neural.info.channelNames, ['A-000']);
  const analog = new OpenEphysReader(dir, { channels: 'analog' });
  assert.equal(Array.from(analog.info.uvPerCount!), [Math.fround(0.195), Math.fround(37.4), 152.587890625]);
  assert.is(firstDifference((await replayAll(analog, 64)).samples, samples), -1);
});

test('gaps in the sample index are kept in sample_numbers.npy (no filling); going back is refused', () => {
  const dir = freshDir('gaps');
  const recording = new OpenEphysRecordingWriter({ directory: dir, recordNodeId: 102, experiment: 2, recording: 3 });
  const stream = recording.addContinuousStream({ streamName: 'S', sampleRateHz: 1000, channelCount: 2, uvPerCount: 1 });
  stream.writeFrames(Int16Array.from([1, 2, 3, 4]), 2, 10);
  stream.writeFrames(Int16Array.from([5, 6]), 1, 20);
  try {
    stream.writeFrames(Int16Array.from([7, 8]), 1, 20);
    assert.unreachable();
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_BLOCK_MISMATCH'));
    assert.match((error as Error).message, 'block starts at sample 20, before the end of what was written (sample 21)');
  }
  recording.close();
  assert.match(recording.recordingDir, join('Record Node 102', 'experiment2', 'recording3'));
  assert.equal(Array.from(readNpy(join(stream.dir, 'sample_numbers.npy')).data as BigInt64Array, Number), [10, 11, 20]);
  const dat = readFileSync(join(stream.dir, 'continuous.dat'));
  assert.equal(Array.from(new Int16Array(dat.buffer, dat.byteOffset, dat.length / 2)), [1, 2, 3, 4, 5, 6]);
  const oebin = JSON.parse(readFileSync(recording.oebinPath, 'utf8'));
  assert.is(oebin.continuous[0].recorded_processor_id, 102);
  assert.is(oebin.continuous[0].channels[1].bit_volts, 1);
});

test('killed with SIGKILL after a flush: sample_numbers.npy counts at most the frames in continuous.dat, neo reads the flushed frames', () => {
  const dir = freshDir('killed');
  const script = `
    import { OpenEphysRecordingWriter } from ${JSON.stringify(new URL('../../../src/io/openephys/writer.ts', import.meta.url).href)};
    const r = new OpenEphysRecordingWriter({ directory: ${JSON.stringify(dir)} });
    const s = r.addContinuousStream({ streamName: 'K', sampleRateHz: 30000, channelCount: 3, uvPerCount: 0.195, bufferFrames: 100000 });
    const x = new Int16Array(3 * 250).map((_, i) => i);
    s.writeFrames(x, 250, 0);
    r.flush();
    s.writeFrames(x, 250);
    process.kill(process.pid, 'SIGKILL');
  `;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.is(child.signal, 'SIGKILL', child.stderr);
  const folder = join(dir, 'Record Node 101', 'experiment1', 'recording1', 'continuous', 'optoloop-100.K');
  assert.equal([...readNpyHeader(join(folder, 'sample_numbers.npy')).shape], [250]);
  assert.equal([...readNpyHeader(join(folder, 'timestamps.npy')).shape], [250]);
  const neo = (runSystemPythonFixture('neo_read.py', ['openephys', dir]) as { streams: NeoStream[] }).streams;
  assert.is(neo[0].frames, 250);
  assert.equal(neo[0].samples.slice(0, 4), [0, 1, 2, 3]);
});

test('option errors name the stream and the field', () => {
  const recording = new OpenEphysRecordingWriter({ directory: freshDir('options') });
  try {
    recording.addContinuousStream({ streamName: 'Bad', sampleRateHz: 30000, channelCount: 3, uvPerCount: [1, 2] });
    assert.unreachable();
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_OPTIONS_INVALID'));
    assert.match((error as Error).message, 'Open Ephys stream Bad: uvPerCount: expected 3 values (one per channel), got 2');
  }
  recording.close();
});

test.run();
