// EmulatorLight: device commands become light in the simulation at the next block, trains 1 ms
// after it, edges placed by the device's own times.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EmulatorLight } from '../../../../sim/devices/servers/emulator-light.js';
import { createSimulation } from '../../../../sim/simulation.js';

function world() {
  const sim = createSimulation({ preset: 'cortex', channels: 32, seed: 2, opsin: [], durationHintS: 1 });
  const light = new EmulatorLight(sim.generator, { reason: 'dev', edgeDelayMs: 10 });
  light.attach();
  const block = new Int16Array(30 * 32);
  const step = (blocks = 1) => {
    for (let k = 0; k < blocks; k++) sim.generator.generate(block, 30);
  };
  return { sim, light, step, pulses: () => sim.generator.groundTruth.pulses.map((p) => [p.onsetSample, p.offsetSample, p.output, p.level]) };
}

test('a train lands at the next block + 1 ms, with its onsets and width', () => {
  const { light, step, pulses } = world();
  step(10); // position 300
  light.train(3, [0, 50_000, 100_000], 5000, 0.8);
  step(200);
  assert.equal(pulses(), [
    [330, 480, 3, 0.8],
    [1830, 1980, 3, 0.8],
    [3330, 3480, 3, 0.8],
  ]);
});

test('edges: placed by device time from the first on edge + the edge delay, widths and intervals exact', () => {
  const { light, step, pulses } = world();
  step(10);
  // Device time and the simulation advance together: device 1 s ↔ position 300.
  light.on(1, 0.5, 1_000_000); // anchors: device 1 s = sample 300 + 30 (next block + 1 ms) + 300 (10 ms)
  step(2);
  light.off(1, 1_002_000);
  step(18);
  light.on(1, 0.5, 1_020_000); // 20 ms after the first on: 600 samples after it
  step(3);
  light.off(1, 1_022_500);
  step(300);
  assert.equal(pulses(), [
    [630, 690, 1, 0.5],
    [1230, 1305, 1, 0.5],
  ]);
});

test('an edge that would land in the past re-anchors; an off edge without an on is ignored', () => {
  const { light, step, pulses } = world();
  light.off(0, 5);
  step(10);
  light.on(0, 1, 0);
  step(1);
  light.off(0, 1000);
  step(100); // position 3330: the anchor (device 0 µs = sample 330) is 100 ms old
  light.on(0, 1, 10_000); // by the anchor: sample 630, long past
  light.off(0, 11_000);
  step(50);
  assert.equal(pulses(), [
    [630, 660, 0, 1],
    [3660, 3690, 0, 1],
  ]);
  assert.is(light.edgesLate, 1, 'the re-anchored on edge is counted late');
  assert.match(light.summary(), /2 light pulses placed, 1 of 4 edges late/);
});

test("an off edge after its light's end was generated ends the light now (late, never early) and is counted", () => {
  const { light, step, pulses } = world();
  step(10);
  light.on(0, 1, 0); // sample 630
  step(30); // position 1200: past 630 + 60
  light.off(0, 2000); // wanted end 690
  step(5);
  const [[on, off]] = pulses();
  assert.is(on, 630);
  assert.ok(off >= 1200 && off <= 1230, `ended at the next sample generated, ${off}`);
  assert.is(light.edgesLate, 1);
});

test('edges that reach the simulation in one block keep their device intervals, never collapse', () => {
  // A loaded host can deliver both gates of a 20 ms train in one read: the second on edge is then
  // more than twice the edge delay ahead of the block, and must still land 20 ms after the first.
  const { light, step, pulses } = world();
  step(10);
  light.on(2, 0.25, 5_000_000);
  light.off(2, 5_002_000);
  light.on(2, 0.25, 5_020_000);
  light.off(2, 5_022_000);
  step(100);
  assert.equal(pulses(), [
    [630, 690, 2, 0.25],
    [1230, 1290, 2, 0.25],
  ]);
  assert.is(light.edgesLate, 0);
  // A first edge accepted late in the window does not push a later one of the batch before it.
  const second = world();
  second.step(10);
  second.light.on(0, 1, 0); // anchors device 0 = sample 630
  second.step(1);
  second.light.off(0, 1000);
  second.step(9); // position 600: the window for the next on edges is [630, 1230]
  second.light.on(0, 1, 19_000); // by the anchor: sample 1200, accepted
  second.light.off(0, 20_000);
  second.light.on(0, 1, 40_000); // by the anchor: 1830, beyond the window, 21 ms after the last
  second.light.off(0, 41_000);
  second.step(100);
  const onsets = second.pulses().map((p) => p[0]);
  assert.equal(onsets, [630, 1200, 1830]);
  assert.is(second.light.edgesLate, 0);
});

test('a late anchoring edge does not pull a prompt next edge closer to it than the device spacing', () => {
  // The first on edge reaches the simulation 15 ms late, the next one promptly: by the anchor the
  // second lands beyond the window; re-anchoring it at the next block + the delay would put the
  // two 5 ms apart instead of 20 (the CI failure: 240 samples instead of 600).
  const { light, step, pulses } = world();
  step(10); // position 300
  light.on(0, 1, 1_000_000); // anchors device 1 s = sample 630
  step(1);
  light.off(0, 1_002_000);
  step(4); // position 450: 20 ms of device time after the first on, minus its 15 ms lateness
  light.on(0, 1, 1_020_000); // by the anchor 1230; the window now ends at 480 + 600
  step(1);
  light.off(0, 1_022_000);
  step(100);
  assert.equal(pulses().map((p) => [p[0], p[1]]), [
    [630, 690],
    [1230, 1290],
  ]);
  assert.is(light.edgesLate, 0);
});

test.run();
