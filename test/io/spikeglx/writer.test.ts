import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SpikeGlxWriter, spikeGlxBinName } from '../../../src/io/spikeglx/writer.js';
import { SpikeGlxMeta } from '../../../src/io/spikeglx/meta.js';
import { SpikeGlxReader } from '../../../src/io/spikeglx/reader.js';
import { firstDifference, replayAll } from '../../helpers/replay.js';
import { isOptoloopError } from '../../../src/core/errors.js';
import type { Float32SampleBlock, Int16SampleBlock } from '../../../src/core/sample-block.js';
import { buildLayout } from '../../../src/probe/channel-layout.js';
import { artifactDir } from '../../helpers/paths.js';
import { randomInt16 } from '../../helpers/seeded.js';
import { runSystemPythonFixture } from '../../helpers/system-python.js';

interface NeoStream {
  name: string;
  channelNames: string[];
  units: string[];
  gains: number[];
  sampleRate: number;
  frames: number;
  samples: number[];
}

function freshDir(name: string): string {
  const dir = artifactDir(join('io-spikeglx-writer', name));
  rmSync(dir, { recursive: true, force: true });
  return artifactDir(join('io-spikeglx-writer', name));
}

function int16Block(samples: Int16Array, channelCount: number, frameCount: number, firstSampleIndex: number, uvPerCount: Float32Array): Int16SampleBlock {
  return { format: 'int16', streamId: 't', sampleRateHz: 30000, channelCount, frameCount, firstSampleIndex, deviceTimestamp: null, hostReceiveTimeNs: 0, samples, uvPerCount };
}

test('python-neo and our reader read our .bin/.meta: identical int16 samples, scale and names (13 channels, uneven blocks)', async () => {
  const dir = freshDir('neo');
  const n = 13;
  const frames = 2047;
  const samples = randomInt16(n * frames, 7);
  const uv = Float32Array.from({ length: n }, (_, c) => [2.34375, 0.195, 4.6875, 1.5, 0.7629394531][c % 5]);
  const writer = new SpikeGlxWriter({ binPath: join(dir, spikeGlxBinName('neo')), sampleRateHz: 30000, channelCount: n, uvPerCount: uv, bufferBytes: 5000 });
  // Uneven blocks through the block API; each block's buffer is reused to prove the writer copies.
  const scratch = new Int16Array(300 * n);
  for (let f = 0; f < frames; ) {
    const count = Math.min(frames - f, 1 + ((f * 7) % 300));
    scratch.set(samples.subarray(f * n, (f + count) * n));
    writer.write(int16Block(scratch, n, count, 1000 + f, uv));
    scratch.fill(0);
    f += count;
  }
  writer.close();
  const neo = (runSystemPythonFixture('neo_read.py', ['spikeglx', dir]) as { streams: NeoStream[] }).streams;
  assert.is(neo.length, 1);
  const s = neo[0];
  assert.is(s.name, 'imec0.ap');
  assert.is(s.frames, frames);
  assert.is(s.sampleRate, 30000);
  assert.equal(s.channelNames, Array.from({ length: n }, (_, c) => `AP${c}`));
  assert.ok(s.units.every((u) => u === 'uV'));
  s.gains.forEach((g, c) => assert.ok(Math.abs(g - uv[c]) < 1e-12 * uv[c], `channel ${c}: neo scale ${g}, ours ${uv[c]}`));
  assert.equal(s.samples, Array.from(samples));

  const ours = new SpikeGlxReader(writer.binPath);
  assert.equal(Array.from(ours.info.uvPerCount!), Array.from(uv), 'float32 scale round-trips exactly');
  assert.is(ours.firstSampleIndex, 1000);
  assert.equal(ours.notes.filter((n) => n.includes('past')), []);
  const replay = await replayAll(ours, 64);
  assert.is(firstDifference(replay.samples, samples), -1);
  assert.is(replay.blocks[1].firstSampleIndex, 1064);
});

test('the meta states firstSample, sizes, and the saved channel subset; NP1.0 gain 500 is written as 500', () => {
  const dir = freshDir('meta');
  const bin = join(dir, spikeGlxBinName('m'));
  const writer = new SpikeGlxWriter({ binPath: bin, sampleRateHz: 30000, channelCount: 4, uvPerCount: 2.34375 });
  writer.writeFrames(new Int16Array(4 * 10), 10, 5000);
  writer.close();
  const meta = SpikeGlxMeta.read(bin.replace(/\.bin$/, '.meta'));
  assert.is(meta.get('firstSample'), '5000');
  assert.is(meta.get('fileSizeBytes'), String(10 * 5 * 2));
  assert.is(statSync(bin).size, 10 * 5 * 2);
  assert.is(meta.get('nSavedChans'), '5');
  assert.is(meta.get('snsSaveChanSubset'), '0:3,8');
  assert.equal(meta.list('~imroTbl')!.entries[0], '0 0 0 500 250 1');
});

test('float32 blocks are rounded to the file scale; gaps are zero-filled and counted; going back is refused', () => {
  const dir = freshDir('float');
  const bin = join(dir, spikeGlxBinName('f'));
  const writer = new SpikeGlxWriter({ binPath: bin, sampleRateHz: 30000, channelCount: 2, uvPerCount: 0.5 });
  const block: Float32SampleBlock = {
    format: 'float32', streamId: 't', sampleRateHz: 30000, channelCount: 2, frameCount: 3, firstSampleIndex: 10,
    deviceTimestamp: null, hostReceiveTimeNs: 0, samples: Float32Array.from([1.2, -1.3, 100000, -0.24, 0, 3]),
  };
  writer.write(block);
  writer.write({ ...block, firstSampleIndex: 15 });
  assert.is(writer.zeroFilledFrames, 2);
  assert.is(writer.clippedSamples, 2);
  try {
    writer.write({ ...block, firstSampleIndex: 16 });
    assert.unreachable();
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_BLOCK_MISMATCH'));
    assert.match((error as Error).message, 'block starts at sample 16, before the end of what was written (sample 18)');
  }
  writer.close();
  const bytes = readFileSync(bin);
  const words = new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
  // 3 frames, 2 zero frames, 3 frames; 3 words per frame (2 channels + SY).
  assert.equal(Array.from(words), [2, -3, 0, 32767, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 2, -3, 0, 32767, 0, 0, 0, 6, 0]);
});

test('int16 blocks at another scale are refused with the channel and both scales', () => {
  const dir = freshDir('scale');
  const writer = new SpikeGlxWriter({ binPath: join(dir, spikeGlxBinName('s')), sampleRateHz: 30000, channelCount: 2, uvPerCount: [0.195, 0.195] });
  try {
    writer.write(int16Block(new Int16Array(4), 2, 2, 0, Float32Array.from([0.195, 0.2])));
    assert.unreachable();
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_BLOCK_MISMATCH'));
    assert.match((error as Error).message, /uvPerCount\[1\]: expected 0\.19499\d+ \(the file's scale\), got 0\.200000\d+/);
  }
  writer.close();
});

test('geometry goes to ~snsGeomMap with absolute x positions', () => {
  const dir = freshDir('geom');
  const bin = join(dir, spikeGlxBinName('g'));
  const layout = buildLayout('sim-probe', [
    { id: 'a', xUm: 0, yUm: 0, shankId: 's0' },
    { id: 'b', xUm: 32, yUm: 20, shankId: 's0' },
    { id: 'c', xUm: 250, yUm: 0, shankId: 's1' },
  ]);
  new SpikeGlxWriter({ binPath: bin, sampleRateHz: 30000, channelCount: 3, uvPerCount: 1, layout }).close();
  const geom = SpikeGlxMeta.read(bin.replace(/\.bin$/, '.meta')).list('~snsGeomMap')!;
  assert.equal(geom.header, ['sim-probe', '2', '0', '0']);
  assert.equal(geom.entries, ['0:0:0:1', '0:32:20:1', '1:250:0:1']);
  const back = new SpikeGlxReader(bin).layout!;
  assert.equal(Array.from(back.xUm), [0, 32, 250]);
  assert.equal(Array.from(back.yUm), [0, 20, 0]);
  assert.equal(Array.from(back.shank), [0, 0, 1]);
});

test('an LF stream writes its scale in the lfGain column and reads back', async () => {
  const dir = freshDir('lf');
  const bin = join(dir, spikeGlxBinName('l', { stream: 'lf' }));
  const writer = new SpikeGlxWriter({ binPath: bin, sampleRateHz: 2500, channelCount: 3, uvPerCount: 4.6875, stream: 'lf' });
  const samples = randomInt16(3 * 40, 2);
  writer.writeFrames(samples, 40);
  writer.close();
  const reader = new SpikeGlxReader(bin);
  assert.equal(reader.info.channelNames, ['LF0', 'LF1', 'LF2']);
  assert.equal(Array.from(reader.info.uvPerCount!), [4.6875, 4.6875, 4.6875]);
  assert.is(firstDifference((await replayAll(reader, 7)).samples, samples), -1);
});

test('killed with SIGKILL after a flush: the meta counts exactly the flushed frames, which neo reads', () => {
  const dir = freshDir('killed');
  const bin = join(dir, spikeGlxBinName('k'));
  const script = `
    import { SpikeGlxWriter } from ${JSON.stringify(new URL('../../../src/io/spikeglx/writer.ts', import.meta.url).href)};
    const w = new SpikeGlxWriter({ binPath: ${JSON.stringify(bin)}, sampleRateHz: 30000, channelCount: 3, uvPerCount: 2.34375, bufferBytes: 1 << 20 });
    const s = new Int16Array(3 * 100).map((_, i) => i);
    w.writeFrames(s, 100);
    w.flush();
    w.writeFrames(s, 100);
    process.kill(process.pid, 'SIGKILL');
  `;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.is(child.signal, 'SIGKILL', child.stderr);
  const meta = SpikeGlxMeta.read(bin.replace(/\.bin$/, '.meta'));
  assert.is(meta.get('fileSizeBytes'), String(100 * 4 * 2));
  const neo = (runSystemPythonFixture('neo_read.py', ['spikeglx', dir]) as { streams: NeoStream[] }).streams;
  assert.is(neo[0].frames, 100);
  assert.equal(neo[0].samples.slice(0, 6), [0, 1, 2, 3, 4, 5]);
});

test.run();
