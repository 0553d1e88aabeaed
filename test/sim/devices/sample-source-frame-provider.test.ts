import { Subject } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SampleBlock } from '../../../src/core/sample-block.js';
import { createSourceCounters, type SampleSource, type StreamInfo } from '../../../src/core/sample-source.js';
import { SampleSourceFrameProvider } from '../../../sim/devices/common/sample-source-frame-provider.js';

function fakeSource(channels: number): { source: SampleSource; blocks: Subject<SampleBlock> } {
  const blocks = new Subject<SampleBlock>();
  const info: StreamInfo = { streamId: 'fake', sampleRateHz: 30000, channelCount: channels, channelNames: [], format: 'float32', uvPerCount: null, description: 'fake', totalFrames: null };
  const source: SampleSource = {
    kind: 'fake', state: 'running', info, counters: createSourceCounters(), blocks$: blocks.asObservable(),
    open: async () => info, start: async () => {}, stop: async () => {}, close: async () => {},
  };
  return { source, blocks };
}

test('feeds an emulated device from a SampleSource: µV rescaled to device counts, rounded and clamped, frames in order', () => {
  const { source, blocks } = fakeSource(2);
  const provider = new SampleSourceFrameProvider(source, { uvPerCount: 0.195 });
  provider.attach();
  const block = (first: number, uv: number[][]): SampleBlock => ({
    format: 'float32', streamId: 'fake', firstSampleIndex: first, sampleRateHz: 30000, channelCount: 2, frameCount: uv.length,
    deviceTimestamp: null, hostReceiveTimeNs: 0, samples: Float32Array.from(uv.flat()),
  });
  blocks.next(block(0, [[0.195, -0.39], [100, 1e6]]));
  blocks.next(block(2, [[-1e6, 0.3]]));
  const out = new Int16Array(10);
  assert.is(provider.read(out, 5), 3);
  assert.equal([...out.subarray(0, 6)], [1, -2, Math.round(100 / 0.195), 32767, -32768, Math.round(0.3 / 0.195)]);
  assert.is(provider.read(out, 5), 0);
  provider.detach();
});

test('a device that drains too slowly loses the oldest frames, counted', () => {
  const { source, blocks } = fakeSource(1);
  const provider = new SampleSourceFrameProvider(source, { uvPerCount: 1, capacityFrames: 4 });
  provider.attach();
  blocks.next({ format: 'int16', streamId: 'fake', firstSampleIndex: 0, sampleRateHz: 30000, channelCount: 1, frameCount: 6, deviceTimestamp: null, hostReceiveTimeNs: 0, samples: Int16Array.of(1, 2, 3, 4, 5, 6), uvPerCount: Float32Array.of(2) });
  const out = new Int16Array(8);
  assert.is(provider.overflowFrames, 2);
  assert.is(provider.read(out, 8), 4);
  assert.equal([...out.subarray(0, 4)], [6, 8, 10, 12]);
});

test.run();
