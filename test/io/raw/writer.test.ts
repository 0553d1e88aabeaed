import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RawWriter } from '../../../src/io/raw/writer.js';
import { RawReader } from '../../../src/io/raw/reader.js';
import type { Float32SampleBlock } from '../../../src/core/sample-block.js';
import { artifactDir } from '../../helpers/paths.js';

const dir = (() => {
  rmSync(artifactDir('io-raw-writer'), { recursive: true, force: true });
  return artifactDir('io-raw-writer');
})();

test('the sidecar is complete at creation and names the probe file relative to itself', () => {
  const path = join(dir, 'session.bin');
  const writer = new RawWriter({ dataPath: path, sampleRateHz: 20000, channelCount: 2, uvPerCount: [0.195, 0.5], firstSampleIndex: 7, probeFile: join(dir, 'probes', 'p.json'), description: 'bench rig' });
  const sidecar = JSON.parse(readFileSync(`${path}.json`, 'utf8'));
  assert.equal(sidecar, {
    format: 'optoloop-raw-int16', version: 1, sampleRateHz: 20000, channelCount: 2, uvPerCount: [Math.fround(0.195), 0.5],
    channelNames: null, firstSampleIndex: 7, dataOffsetBytes: 0, probeFile: join('probes', 'p.json'), description: 'bench rig',
  });
  writer.close();
});

test('float32 µV blocks are rounded to the file scale, clipping counted; a gap is zero-filled', () => {
  const path = join(dir, 'float.bin');
  const writer = new RawWriter({ dataPath: path, sampleRateHz: 1000, channelCount: 2, uvPerCount: 0.5 });
  const block: Float32SampleBlock = {
    format: 'float32', streamId: 's', sampleRateHz: 1000, channelCount: 2, frameCount: 2, firstSampleIndex: 0,
    deviceTimestamp: null, hostReceiveTimeNs: 0, samples: Float32Array.from([0.74, -0.76, 1e9, Number.NaN]),
  };
  writer.write(block);
  writer.write({ ...block, firstSampleIndex: 3 });
  assert.is(writer.clippedSamples, 4);
  assert.is(writer.zeroFilledFrames, 1);
  writer.close();
  const bytes = readFileSync(path);
  assert.equal(Array.from(new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2)), [1, -2, 32767, 0, 0, 0, 1, -2, 32767, 0]);
});

test('killed with SIGKILL: the file reads up to the last write of whole frames', () => {
  const path = join(dir, 'killed.bin');
  const script = `
    import { RawWriter } from ${JSON.stringify(new URL('../../../src/io/raw/writer.ts', import.meta.url).href)};
    const w = new RawWriter({ dataPath: ${JSON.stringify(path)}, sampleRateHz: 1000, channelCount: 3, uvPerCount: 1, bufferBytes: 1 << 20 });
    w.writeFrames(new Int16Array(3 * 100).fill(7), 100);
    w.flush();
    w.writeFrames(new Int16Array(3 * 100).fill(8), 100);
    process.kill(process.pid, 'SIGKILL');
  `;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.is(child.signal, 'SIGKILL', child.stderr);
  const reader = new RawReader(path);
  assert.is(reader.info.totalFrames, 100);
  reader.close();
});

test.run();
