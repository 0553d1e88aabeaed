// Light in the generated data: long pulses drive sustained firing that stops with the light, dim
// light is less reliable, the artefact appears at onset (+) and offset (−) on every channel, and
// an abort cancels what was scheduled.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { levelEfficacy } from '../../sim/light.js';
import { createSimulation } from '../../sim/simulation.js';

const RATE = 30000;

function run(options: Parameters<typeof createSimulation>[0], pulses: { onsetS: number; widthMs: number; level: number }[], seconds: number) {
  const sim = createSimulation({ channels: 32, units: 32, seed: 9, ...options });
  for (const p of pulses) {
    const onset = Math.round(p.onsetS * RATE);
    sim.generator.addPulse({ onsetSample: onset, offsetSample: onset + Math.round(p.widthMs * 30), level: p.level, output: 0, requestId: -1, reason: 'test' });
  }
  const samples = new Int16Array(seconds * RATE * 32);
  sim.generator.generate(samples, seconds * RATE);
  return { sim, samples };
}

function countIn(spikes: Float64Array, from: number, to: number): number {
  let n = 0;
  for (const s of spikes) if (s >= from && s < to) n++;
  return n;
}

test('a 200 ms pulse drives sustained firing of expressing units, which stops with the light', () => {
  const pulses = Array.from({ length: 20 }, (_, k) => ({ onsetS: 1 + k, widthMs: 200, level: 1 }));
  const { sim } = run({ preset: 'cortex', artefactUv: 0 }, pulses, 21);
  const pv = sim.units.filter((u) => u.lightResponsive);
  assert.ok(pv.length >= 3);
  for (const u of pv) {
    const spikes = sim.generator.groundTruth.spikesOf(u.id);
    let during = 0;
    let before = 0;
    for (const p of sim.generator.groundTruth.pulses) {
      during += countIn(spikes, p.onsetSample, p.offsetSample);
      before += countIn(spikes, p.onsetSample - 6000, p.onsetSample);
    }
    const duringHz = during / (20 * 0.2);
    const beforeHz = before / (20 * 0.2);
    console.log(`  unit ${u.id}: ${beforeHz.toFixed(1)} Hz before, ${duringHz.toFixed(1)} Hz during the light (sustained ${u.light.sustainedRateHz.toFixed(0)} Hz configured)`);
    assert.ok(duringHz > beforeHz + 20, `unit ${u.id}`);
    assert.ok(duringHz > 0.6 * u.light.sustainedRateHz, `unit ${u.id}: driven at the configured sustained rate (less adaptation)`);
    const evoked = Array.from(sim.generator.groundTruth.spikeEvoked.subarray(0, sim.generator.groundTruth.spikeCount)).filter((e, i) => e && sim.generator.groundTruth.spikeUnit[i] === u.id).length;
    assert.ok(evoked > 20 * 3, 'several evoked spikes per pulse');
    // No evoked spike outside a pulse (+ the latency window after its offset).
    for (let i = 0; i < sim.generator.groundTruth.spikeCount; i++) {
      if (sim.generator.groundTruth.spikeUnit[i] !== u.id || !sim.generator.groundTruth.spikeEvoked[i]) continue;
      const t = sim.generator.groundTruth.spikeSample[i];
      assert.ok(sim.generator.groundTruth.pulses.some((p) => t >= p.onsetSample && t < p.offsetSample + 30 * 20), `evoked spike at ${t}`);
    }
  }
});

test('dim light is less reliable than full light (saturating efficacy)', () => {
  assert.ok(levelEfficacy(1) > 0.999 && levelEfficacy(1) < 1.001);
  assert.ok(levelEfficacy(0.1) < 0.15 && levelEfficacy(0) === 0);
  const answered = (level: number) => {
    const pulses = Array.from({ length: 100 }, (_, k) => ({ onsetS: 0.5 + k * 0.2, widthMs: 5, level }));
    const { sim } = run({ preset: 'cortex', artefactUv: 0 }, pulses, 21);
    let n = 0;
    for (let i = 0; i < sim.generator.groundTruth.spikeCount; i++) n += sim.generator.groundTruth.spikeEvoked[i];
    return n;
  };
  const full = answered(1);
  const dim = answered(0.15);
  console.log(`  evoked spikes: ${full} at full light, ${dim} at 15 %`);
  assert.ok(dim < 0.5 * full);
});

test('the light artefact appears on every channel: positive at onset, negative at offset', () => {
  const pulses = Array.from({ length: 10 }, (_, k) => ({ onsetS: 0.5 + k * 0.3, widthMs: 10, level: 1 }));
  const { sim, samples } = run({ preset: 'cortex', artefactUv: 80, units: 0, backgroundPerChannel: 0 }, pulses, 4);
  const uv = sim.uvPerCount[0];
  const meanAt = (sample: number) => {
    let s = 0;
    for (let c = 0; c < 32; c++) s += samples[sample * 32 + c] * uv;
    return s / 32;
  };
  for (const p of sim.generator.groundTruth.pulses) {
    const peakOn = Math.max(...Array.from({ length: 30 }, (_, i) => meanAt(p.onsetSample + i)));
    const peakOff = Math.min(...Array.from({ length: 30 }, (_, i) => meanAt(p.offsetSample + i)));
    const baseline = meanAt(p.onsetSample - 100);
    assert.ok(peakOn - baseline > 30, `onset artefact ${peakOn - baseline} µV`);
    assert.ok(baseline - peakOff > 30, `offset artefact ${baseline - peakOff} µV`);
    assert.ok(Math.abs(meanAt(p.onsetSample - 1) - baseline) < 15, 'nothing before onset');
  }
});

test('abortLight cancels scheduled pulses and evoked spikes not yet begun', () => {
  const sim = createSimulation({ preset: 'cortex', channels: 32, units: 32, seed: 9, artefactUv: 0 });
  for (let k = 0; k < 10; k++) sim.generator.addPulse({ onsetSample: 30000 + k * 6000, offsetSample: 30000 + k * 6000 + 3000, level: 1, output: 0, requestId: -1, reason: 'test' });
  const out = new Int16Array(60000 * 32);
  sim.generator.generate(out, 30000 + 6000 * 3 + 1500); // into the 4th pulse
  sim.generator.abortLight();
  const placedBefore = sim.generator.groundTruth.pulses.length;
  sim.generator.generate(out, 30000);
  assert.is(sim.generator.groundTruth.pulses.length, placedBefore);
  assert.is(placedBefore, 4);
  const abortAt = 30000 + 6000 * 3 + 1500 + 30; // + up to 1 ms: templates already begun
  for (let i = 0; i < sim.generator.groundTruth.spikeCount; i++) {
    if (sim.generator.groundTruth.spikeEvoked[i]) assert.ok(sim.generator.groundTruth.spikeSample[i] < abortAt, 'no evoked spike after the abort');
  }
});

test.run();
