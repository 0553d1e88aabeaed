// Open pulses: light whose end is known only when it comes (a host-timed LED, a gate edge seen as
// it happens), ended by SimGenerator.endOpenPulse.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LightPulse } from '../../sim/light.js';
import { createSimulation } from '../../sim/simulation.js';
import type { SimOptionsInput } from '../../sim/options.js';

const RATE = 30000;
const BLOCK = 30;

function pulse(onsetSample: number, offsetSample: number, level = 1): LightPulse {
  return { onsetSample, offsetSample, level, output: 0, requestId: 7, reason: 'test' };
}

/** Generates `frames` frames in 1 ms blocks, calling `at(position)` before each block. */
function run(options: SimOptionsInput, frames: number, at: (position: number, sim: ReturnType<typeof createSimulation>) => void) {
  const sim = createSimulation(options);
  const C = sim.generator.channelCount;
  const out = new Int16Array(frames * C);
  const block = new Int16Array(BLOCK * C);
  for (let f = 0; f < frames; f += BLOCK) {
    at(f, sim);
    sim.generator.generate(block, BLOCK);
    out.set(block, f * C);
  }
  return { sim, samples: out };
}

function firstDifference(a: Int16Array, b: Int16Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

const NO_OPSIN: SimOptionsInput = { preset: 'cortex', channels: 32, seed: 11, opsin: [], durationHintS: 1 };

test('an open pulse ended before it takes effect gives the bytes of a pulse of that width', () => {
  const onset = 3000;
  const offset = onset + 150;
  const opsin: SimOptionsInput = { preset: 'cortex', channels: 32, seed: 12, durationHintS: 1 };
  const plain = run(opsin, 12000, (f, sim) => {
    if (f === 0) sim.generator.addPulse(pulse(onset, offset));
  });
  const open = run(opsin, 12000, (f, sim) => {
    if (f === 0) sim.generator.endOpenPulse(sim.generator.addOpenPulse(pulse(onset, onset + 300_000)), offset);
  });
  assert.is(firstDifference(plain.samples, open.samples), -1);
  assert.equal(open.sim.generator.groundTruth.pulses, [pulse(onset, offset)]);
});

test('ended after it took effect: the offset artefact and the ground truth move to the real offset', () => {
  // No opsin: only the artefact depends on the offset, so the bytes must equal a plain pulse's.
  const onset = 3000;
  const offset = 3000 + 240; // 8 ms, ended 5 ms after onset
  const plain = run(NO_OPSIN, 9000, (f, sim) => {
    if (f === 0) sim.generator.addPulse(pulse(onset, offset, 0.8));
  });
  let handle: ReturnType<ReturnType<typeof createSimulation>['generator']['addOpenPulse']> | null = null;
  const open = run(NO_OPSIN, 9000, (f, sim) => {
    if (f === onset - BLOCK) handle = sim.generator.addOpenPulse(pulse(onset, onset + 10 * RATE, 0.8));
    if (f === onset + 150) {
      assert.is(sim.generator.groundTruth.pulses[0].offsetSample, onset + 10 * RATE, 'applied with its longest width first');
      sim.generator.endOpenPulse(handle!, offset);
    }
  });
  assert.is(firstDifference(plain.samples, open.samples), -1);
  assert.equal(open.sim.generator.groundTruth.pulses, [pulse(onset, offset, 0.8)]);
});

test('ended after it took effect: sustained evoked spikes stop at the offset, a late first answer stays', () => {
  const options: SimOptionsInput = { preset: 'cortex', channels: 32, seed: 5, units: 24, opsin: ['PV', 'pyramidal'], durationHintS: 2 };
  const probe = createSimulation(options);
  const responsive = probe.units.filter((u) => u.lightResponsive && !u.background);
  assert.ok(responsive.some((u) => u.light.sustainedRateHz > 0), 'some responsive units fire while the light lasts');
  const onsets = [3000, 15000, 27000, 39000, 51000];
  const widthSamples = 90; // 3 ms: shorter than most latencies + sustained firing
  const handles: ReturnType<typeof probe.generator.addOpenPulse>[] = [];
  const { sim } = run(options, 60000, (f, s) => {
    for (const onset of onsets) {
      if (f === onset - BLOCK) handles.push(s.generator.addOpenPulse(pulse(onset, onset + 5 * RATE)));
      if (f === onset + BLOCK) s.generator.endOpenPulse(handles[handles.length - 1], onset + widthSamples);
    }
  });
  const gt = sim.generator.groundTruth;
  assert.equal(
    gt.pulses.map((p) => [p.onsetSample, p.offsetSample]),
    onsets.map((o) => [o, o + widthSamples]),
  );
  let evoked = 0;
  for (const unit of sim.units.filter((x) => x.lightResponsive && !x.background)) {
    const u = sim.units.indexOf(unit);
    for (const onset of onsets) {
      const after: number[] = [];
      for (let i = 0; i < gt.spikeCount; i++) {
        if (gt.spikeUnit[i] === u && gt.spikeEvoked[i] === 1 && gt.spikeSample[i] >= onset && gt.spikeSample[i] < onset + 6000) after.push(gt.spikeSample[i]);
      }
      evoked += after.length;
      const beyond = after.filter((t) => t >= onset + widthSamples);
      assert.ok(beyond.length <= 1, `unit ${unit.id} pulse at ${onset}: ${beyond.length} evoked spikes after the offset`);
      const limit = onset + widthSamples + 2 * unit.light.latencyMs * (RATE / 1000) + 1;
      for (const t of beyond) assert.ok(t < limit, `unit ${unit.id}: evoked spike at ${t}, after offset + 2 × latency (${limit})`);
    }
  }
  assert.ok(evoked > 0, 'the light evoked spikes');
});

test('an aborted open pulse can still be ended without effect', () => {
  const sim = createSimulation(NO_OPSIN);
  const h = sim.generator.addOpenPulse(pulse(600, 60_000));
  sim.generator.abortLight();
  const ended = sim.generator.endOpenPulse(h, 900);
  assert.is(ended.offsetSample, 900);
  const out = new Int16Array(3000 * 32);
  sim.generator.generate(out, 3000);
  assert.is(sim.generator.groundTruth.pulses.length, 0);
});

test.run();
