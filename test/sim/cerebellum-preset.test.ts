// Each cerebellar type's firing, measured on the generated spike trains (ground truth of what was
// emitted, not the drawn parameters), falls in the published ranges cited in
// sim/presets/cerebellum.ts; complex spikes pause their own cell's simple spikes; complex-spike
// and mossy-fibre waveforms have their characteristic shapes in the generated samples.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bandpassZeroPhase, crossCorrelogram, meanWaveform, trainStats } from '../../sim/analysis.js';
import { createSimulation } from '../../sim/simulation.js';
import { recordChannels } from '../helpers/sim.js';

const SECONDS = 60;
const sim = createSimulation({ preset: 'cerebellum', channels: 384, units: 90, seed: 5 });
const rate = sim.options.sampleRateHz;
const units = sim.units.filter((u) => !u.background);
const waveUnits = units.filter((u) => u.type === 'PkC_cs' || u.type === 'MFB');
const data = recordChannels(sim, SECONDS, waveUnits.map((u) => u.peakChannel));
const trains = new Map(units.map((u) => [u.id, sim.generator.groundTruth.spikesOf(u.id)]));
const stats = (type: string) => units.filter((u) => u.type === type).map((u) => ({ unit: u, ...trainStats(trains.get(u.id)!, rate, SECONDS) }));
const median = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)];
const fractionIn = (x: number[], lo: number, hi: number) => x.filter((v) => v >= lo && v <= hi).length / x.length;

function report(type: string, s: ReturnType<typeof stats>): void {
  const r = s.map((x) => x.rateHz);
  console.log(`  ${type} (${s.length}): rate ${Math.min(...r).toFixed(1)}–${Math.max(...r).toFixed(1)} Hz, median CV ${median(s.map((x) => x.cv)).toFixed(2)}, median CV2 ${median(s.map((x) => x.cv2)).toFixed(2)}, median burst fraction ${median(s.map((x) => x.burstFraction)).toFixed(3)}`);
}

test('PkC_ss: 40–100 Hz and regular (zhou2014, arancillo2015)', () => {
  const s = stats('PkC_ss');
  report('PkC_ss', s);
  assert.ok(s.length >= 10);
  assert.ok(fractionIn(s.map((x) => x.rateHz), 35, 105) >= 0.9, 'rates');
  assert.ok(median(s.map((x) => x.cv2)) < 0.6, 'regular: median CV2 < 0.6');
  assert.ok(median(s.map((x) => x.cv2)) > 0.15, 'not clock-like: median CV2 > 0.15');
});

test('PkC_cs: ≈ 1 Hz (0.3–3 Hz; zhou2014)', () => {
  const s = stats('PkC_cs');
  report('PkC_cs', s);
  assert.ok(s.length >= 10);
  assert.ok(fractionIn(s.map((x) => x.rateHz), 0.3, 3) >= 0.9);
  const all = s.map((x) => x.rateHz);
  const mean = all.reduce((a, b) => a + b, 0) / all.length;
  assert.ok(mean > 0.6 && mean < 1.6, `mean CS rate ${mean}`);
});

test('a complex spike pauses the same cell’s simple spikes for 10–25 ms (csPause), not other cells’', () => {
  const cs = units.filter((u) => u.type === 'PkC_cs');
  let pauses: number[] = [];
  let within10 = 0;
  let otherCellWithin10 = 0;
  let otherCellExpected = 0;
  for (const c of cs) {
    const ss = units.find((u) => u.type === 'PkC_ss' && u.cellId === c.cellId)!;
    const other = units.find((u) => u.type === 'PkC_ss' && u.cellId !== c.cellId)!;
    const csTimes = trains.get(c.id)!;
    const ssTimes = trains.get(ss.id)!;
    within10 += crossCorrelogram(csTimes, ssTimes, rate, 9.9, 9.9)[0]; // 10 ms minus the rounding of spike times to samples
    otherCellWithin10 += crossCorrelogram(csTimes, trains.get(other.id)!, rate, 9.9, 9.9)[0];
    otherCellExpected += csTimes.length * (trains.get(other.id)!.length / SECONDS) * 0.0099;
    let j = 0;
    for (const t of csTimes) {
      while (j < ssTimes.length && ssTimes[j] <= t) j++;
      if (j < ssTimes.length) pauses.push(((ssTimes[j] - t) * 1000) / rate);
    }
  }
  pauses = pauses.sort((a, b) => a - b);
  console.log(`  CS→next SS: median ${median(pauses).toFixed(1)} ms, 5th pct ${pauses[Math.floor(pauses.length * 0.05)].toFixed(1)} ms; SS of the same cell within 9.9 ms of a CS: ${within10}; of another cell: ${otherCellWithin10} (≈ ${otherCellExpected.toFixed(0)} expected by chance)`);
  assert.is(within10, 0);
  assert.ok(median(pauses) >= 10 && median(pauses) <= 30);
  assert.ok(otherCellWithin10 > 0.5 * otherCellExpected, 'other cells do not pause');
});

test('MLI: irregular (CV > 0.6; ruigrok2011), 5–35 Hz', () => {
  const s = stats('MLI');
  report('MLI', s);
  assert.ok(fractionIn(s.map((x) => x.rateHz), 3, 40) >= 0.9);
  assert.ok(median(s.map((x) => x.cv)) > 0.6);
});

test('GoC: slow (3–18 Hz, vos1999 8.4 Hz mean) and somewhat irregular (CV 0.35–0.8; ruigrok2011)', () => {
  const s = stats('GoC');
  report('GoC', s);
  assert.ok(fractionIn(s.map((x) => x.rateHz), 2.5, 20) >= 0.9);
  const cv = median(s.map((x) => x.cv));
  assert.ok(cv > 0.35 && cv < 0.8, `CV ${cv}`);
});

test('MFB: high-frequency bursts (ISIs < 4 ms; rancz2007)', () => {
  const s = stats('MFB');
  report('MFB', s);
  assert.ok(median(s.map((x) => x.burstFraction)) > 0.1);
  assert.ok(fractionIn(s.map((x) => x.rateHz), 10, 130) >= 0.9);
});

test('no train violates its refractory period', () => {
  for (const u of units) {
    const t = trains.get(u.id)!;
    if (t.length < 2) continue;
    assert.ok(trainStats(t, rate, SECONDS).minIsiMs >= u.firing.refractoryMs - 1000 / rate, `unit ${u.id} ${u.type}`);
  }
});

function localMinima(w: Float64Array, from: number, to: number, depth: number): number {
  let n = 0;
  for (let i = Math.max(1, from); i < Math.min(w.length - 1, to); i++) if (w[i] < w[i - 1] && w[i] <= w[i + 1] && w[i] < -depth) n++;
  return n;
}

test('complex spikes are multi-peaked in the recorded samples (spikelets; warnaar2015)', () => {
  let multi = 0;
  const cs = waveUnits.filter((u) => u.type === 'PkC_cs' && u.snr > 6);
  for (const u of cs) {
    const x = bandpassZeroPhase(data.get(u.peakChannel)!, 300, 6000, rate);
    const w = meanWaveform(x, trains.get(u.id)!, 30, 300);
    const trough = -Math.min(...w);
    if (localMinima(w, 30, 330, 0.1 * trough) >= 2) multi++;
  }
  console.log(`  ${multi} of ${cs.length} complex-spike units show ≥ 2 troughs`);
  assert.ok(cs.length > 0 && multi / cs.length >= 0.8);
});

test('mossy fibre spikes are triphasic: a positive phase before the trough', () => {
  let triphasic = 0;
  const mf = waveUnits.filter((u) => u.type === 'MFB' && u.snr > 6);
  for (const u of mf) {
    const x = bandpassZeroPhase(data.get(u.peakChannel)!, 300, 6000, rate);
    const w = meanWaveform(x, trains.get(u.id)!, 30, 60);
    const trough = -Math.min(...w);
    const prePeak = Math.max(...w.subarray(15, 30));
    if (prePeak > 0.15 * trough) triphasic++;
  }
  console.log(`  ${triphasic} of ${mf.length} mossy fibre units are triphasic`);
  assert.ok(mf.length > 0 && triphasic / mf.length >= 0.8);
});

test.run();
