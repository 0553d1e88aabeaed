// Noise and drift as configured: per-channel σ of a unit-free recording matches the thermal σ
// (plus the common noise), mains appears at its frequency, the drift stays bounded and moves the
// units relative to the channels (a unit's amplitude on a channel changes as the probe moves),
// and the SNR written to the ground truth is what the samples show.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ProbeDrift } from '../../sim/drift.js';
import { meanWaveform } from '../../sim/analysis.js';
import { createSimulation } from '../../sim/simulation.js';
import { recordChannels } from '../helpers/sim.js';

const RATE = 30000;

test('per-channel noise σ is the configured thermal σ combined with the common noise', () => {
  const sim = createSimulation({ channels: 32, units: 0, backgroundPerChannel: 0, noiseUv: 5, commonNoiseUv: 1, driftUm: 0, driftWalkUmPerSqrtS: 0 });
  const data = recordChannels(sim, 2, Array.from({ length: 32 }, (_, c) => c));
  for (const [c, x] of data) {
    let s = 0;
    for (const v of x) s += v * v;
    const sd = Math.sqrt(s / x.length);
    const expected = Math.sqrt(sim.noiseUv[c] ** 2 + 1 + (0.195 ** 2) / 12);
    assert.ok(Math.abs(sd / expected - 1) < 0.02, `channel ${c}: σ ${sd} vs ${expected}`);
  }
});

test('mains interference appears at 50 Hz and not at 60 Hz', () => {
  const sim = createSimulation({ channels: 32, units: 0, backgroundPerChannel: 0, lineNoiseHz: 50, lineNoiseUv: 10 });
  const x = recordChannels(sim, 2, [0]).get(0)!;
  const power = (hz: number) => {
    let re = 0;
    let im = 0;
    for (let i = 0; i < x.length; i++) {
      re += x[i] * Math.cos((2 * Math.PI * hz * i) / RATE);
      im += x[i] * Math.sin((2 * Math.PI * hz * i) / RATE);
    }
    return (2 * Math.hypot(re, im)) / x.length;
  };
  const at50 = power(50);
  const at60 = power(60);
  console.log(`  amplitude at 50 Hz ${at50.toFixed(2)} µV, at 60 Hz ${at60.toFixed(2)} µV`);
  assert.ok(at50 > 5 && at50 < 15);
  assert.ok(at60 < 0.5);
});

test('drift is deterministic and bounded by ProbeDrift.bound', () => {
  const options = { amplitudeUm: 5, periodS: 60, randomWalkUmPerSqrtS: 0.5 };
  const a = new ProbeDrift(options, RATE, 3);
  const b = new ProbeDrift(options, RATE, 3);
  const bound = ProbeDrift.bound(options, 3600);
  let max = 0;
  for (let t = 0; t < 3600 * RATE; t += RATE / 10) {
    const d = a.displacementAt(t);
    assert.is(d, b.displacementAt(t));
    max = Math.max(max, Math.abs(d));
  }
  console.log(`  max |drift| over an hour ${max.toFixed(1)} µm, bound ${bound.toFixed(1)} µm`);
  assert.ok(max < bound && max > 2);
});

test('drift moves units relative to the channels: amplitudes change with the probe position', () => {
  const amplitudeSwing = (driftUm: number) => {
    const sim = createSimulation({ preset: 'cortex', channels: 64, units: 12, seed: 4, driftUm, driftPeriodS: 20, driftWalkUmPerSqrtS: 0, backgroundPerChannel: 0, snrMin: 15, snrMax: 25 });
    const unit = sim.units.filter((u) => !u.background).sort((x, y) => y.firing.rateHz - x.firing.rateHz)[0];
    const x = recordChannels(sim, 20, [unit.peakChannel]).get(unit.peakChannel)!;
    const spikes = sim.generator.groundTruth.spikesOf(unit.id);
    // Trough depth per 2.5 s window (a quarter of the sinusoid's half period).
    const depths: number[] = [];
    for (let w = 0; w < 8; w++) {
      const inWindow = Array.from(spikes).filter((s) => s >= w * 2.5 * RATE && s < (w + 1) * 2.5 * RATE);
      if (inWindow.length < 3) continue;
      depths.push(-Math.min(...meanWaveform(x, inWindow, 10, 10)));
    }
    return (Math.max(...depths) - Math.min(...depths)) / Math.max(...depths);
  };
  const still = amplitudeSwing(0);
  const moving = amplitudeSwing(15);
  console.log(`  relative swing of a unit's trough depth: ${(100 * still).toFixed(0)} % without drift, ${(100 * moving).toFixed(0)} % with ±15 µm drift`);
  assert.ok(moving > 2 * still && moving > 0.15);
});

test('the SNR in the ground truth is what the samples show (peak amplitude / noise σ)', () => {
  const sim = createSimulation({ preset: 'cortex', channels: 64, units: 20, seed: 6, driftUm: 0, driftWalkUmPerSqrtS: 0, backgroundPerChannel: 0, commonNoiseUv: 0 });
  const units = sim.units.filter((u) => !u.background);
  const data = recordChannels(sim, 20, units.map((u) => u.peakChannel));
  let checked = 0;
  for (const u of units) {
    const spikes = sim.generator.groundTruth.spikesOf(u.id);
    if (spikes.length < 50) continue;
    // Unfiltered mean waveform: the noise averages out, the amplitude jitter (±4 %) barely matters.
    const w = meanWaveform(data.get(u.peakChannel)!, spikes, 30, 60);
    const baseline = w.slice(0, 10).reduce((a, b) => a + b, 0) / 10;
    const depth = baseline - Math.min(...w);
    const measuredSnr = depth / sim.noiseUv[u.peakChannel];
    assert.ok(Math.abs(measuredSnr / u.snr - 1) < 0.15, `unit ${u.id}: measured SNR ${measuredSnr.toFixed(2)}, ground truth ${u.snr.toFixed(2)}`);
    checked++;
  }
  assert.ok(checked >= 5, `${checked} units checked`);
});

test.run();
