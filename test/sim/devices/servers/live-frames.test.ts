// LiveSimFrames: the simulation's blocks as a served device's frames, with the simulation sample of
// each frame handed out, and nothing kept while the device is not taking frames.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LiveSimFrames } from '../../../../sim/devices/servers/live-frames.js';
import { SimSource } from '../../../../sim/sim-source.js';
import { createSimulation } from '../../../../sim/simulation.js';

const OPTIONS = { preset: 'cortex' as const, channels: 32, seed: 9, durationHintS: 1 };

async function setup(capacityFrames?: number) {
  const source = new SimSource({ ...OPTIONS, blockFrames: 30, realTime: false });
  await source.open();
  let consuming = false;
  const frames = new LiveSimFrames(source, { uvPerCount: source.simulation.uvPerCount[0], consuming: () => consuming, capacityFrames });
  frames.attach();
  const expected = createSimulation(OPTIONS);
  const all = new Int16Array(3000 * 32);
  expected.generator.generate(all, 3000);
  return { source, frames, all, set: (on: boolean) => (consuming = on) };
}

test('frames are discarded while not consuming; the first one handed out is the first block after', async () => {
  const { source, frames, all, set } = await setup();
  for (let k = 0; k < 3; k++) source.emitNextBlock();
  const target = new Int16Array(200 * 32);
  assert.is(frames.read(target, 200), 0);
  assert.is(frames.framesDiscarded, 90);
  set(true);
  source.emitNextBlock();
  source.emitNextBlock();
  assert.is(frames.read(target, 200), 60);
  assert.is(frames.sampleOf(0), 90);
  assert.is(frames.sampleOf(59), 149);
  assert.equal(Array.from(target.subarray(0, 60 * 32)), Array.from(all.subarray(90 * 32, 150 * 32)), 'the simulation samples, unchanged');
  // Stop, lose some, start again: the next stretch maps to where it really is.
  set(false);
  source.emitNextBlock();
  set(true);
  source.emitNextBlock();
  assert.is(frames.read(target, 200), 30);
  assert.is(frames.sampleOf(60), 180);
  assert.is(frames.sampleOf(59), 149, 'earlier frames keep their mapping');
  assert.equal(Array.from(target.subarray(0, 30 * 32)), Array.from(all.subarray(180 * 32, 210 * 32)));
});

test('an overflow of the ring is followed: the frames after it map to their real samples', async () => {
  const { source, frames, all, set } = await setup(100);
  set(true);
  for (let k = 0; k < 5; k++) source.emitNextBlock(); // 150 frames into a 100-frame ring
  assert.is(frames.overflowFrames, 50);
  const target = new Int16Array(100 * 32);
  assert.is(frames.read(target, 100), 100);
  assert.is(frames.sampleOf(0), 50);
  assert.equal(Array.from(target.subarray(0, 32)), Array.from(all.subarray(50 * 32, 51 * 32)));
});

test.run();
