import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultAnalysisOptions, defaultTagCriteria } from '../../src/closedloop/optotag-options.js';
import { saltFromRasters } from '../../src/closedloop/salt.js';
import { TagAccumulator, TagLayout } from '../../src/closedloop/tag-accumulator.js';
import { decideTag } from '../../src/closedloop/tag-criteria.js';
import { pearson, waveformCorrelation } from '../../src/closedloop/waveform-correlation.js';

const close = (actual: number | null, expected: number, tolerance = 1e-6, what = '') =>
  assert.ok(actual !== null && Math.abs(actual - expected) <= tolerance, `${what}: expected ${expected}, got ${actual}`);

// Four pulses worked by hand with the default options (SALT wn 10 ms, dt 1 ms, baseline 500 ms;
// response window 1…10 ms; artefact 1 ms after onset and offset; PSTH 0.5 ms bins −5…+10 ms;
// Allen +1…+9 ms vs −10…−2 ms).
//   A (5 ms pulse):  −250.3, 0.4 (onset artefact), 3.2, 5.5 (offset artefact), 7.0
//   B (5 ms pulse):  −5.5, 4.1
//   C (5 ms pulse):  −495.5, 12
//   D (10 ms pulse): 4.2
function handTrials(acc: TagAccumulator): boolean[] {
  return [
    acc.addTrial([-250.3, 0.4, 3.2, 5.5, 7.0], 0, 5, 5),
    acc.addTrial([-5.5, 4.1], 0, 2, 5),
    acc.addTrial([-495.5, 12], 0, 2, 5),
    acc.addTrial([4.2], 0, 1, 10),
  ];
}

test('reliability, jitter and latency of four hand-worked pulses', () => {
  const acc = new TagAccumulator(new TagLayout(defaultAnalysisOptions()));
  // First response-window spikes (artefacts skipped): A 3.2, B 4.1, C none (12 is past 10), D 4.2.
  assert.equal(handTrials(acc), [true, true, false, true]);
  const s = acc.stats();
  assert.is(s.pulses, 4);
  // reliability = 3 / 4.
  close(s.reliability, 0.75, 1e-12, 'reliability');
  // mean = (3.2 + 4.1 + 4.2) / 3 = 3.8333; deviations −0.6333, 0.2667, 0.3667;
  // squares sum to 0.60667; SD = sqrt(0.60667 / 2) = 0.550757.
  close(s.firstSpikeLatencyMs, 3.833333, 1e-6, 'mean first spike');
  close(s.jitterMs, 0.550757, 1e-6, 'jitter');
  // PSTH (artefacts excluded): 3.2 → [3.0, 3.5), 4.1 and 4.2 → [4.0, 4.5), 7.0 → [7.0, 7.5).
  // The highest bin is [4.0, 4.5): latency = its centre, 4.25 ms.
  close(s.latencyMs, 4.25, 1e-12, 'latency');
});

test('the Allen ratio uses rates in Hz and removes the artefact time from the evoked window', () => {
  const acc = new TagAccumulator(new TagLayout(defaultAnalysisOptions()));
  handTrials(acc);
  const s = acc.stats();
  // Evoked +1…+9 ms: A 3.2 and 7.0 (5.5 is an offset artefact), B 4.1, D 4.2 → 4 spikes.
  // Usable time: 5 ms pulses lose [5, 6) → 7 ms each; the 10 ms pulse loses nothing in 1…9 → 8 ms.
  // Evoked rate = 4 / (7 + 7 + 7 + 8) ms = 4 / 29 ms = 137.931 Hz.
  // Baseline −10…−2 ms: B's −5.5 → 1 spike in 4 × 8 ms = 31.25 Hz.
  // Ratio = 137.931 / (31.25 + 1) = 4.276929.
  close(s.evokedRateHz, 4000 / 29, 1e-9, 'evoked rate');
  close(s.baselineRateHz, 31.25, 1e-9, 'baseline rate');
  close(s.allenRatio, 4000 / 29 / 32.25, 1e-9, 'Allen ratio');
});

test('baseline windows are shaped like the response window, holes included', () => {
  const acc = new TagAccumulator(new TagLayout(defaultAnalysisOptions()));
  handTrials(acc);
  // 9 ms windows tile −500…−5 ms: 55 per pulse, 220 in all.
  // A: −250.3 lies in window 27 (−257…−248) at 7.7 ms of a virtual response window → a hit.
  // B: −5.5 lies in window 54 (−14…−5) at 9.5 ms → a hit.
  // C: −495.5 lies in window 0 at 5.5 ms: inside the 5 ms pulse's offset-artefact hole → not a hit.
  assert.is(acc.baselineWindows, 220);
  assert.is(acc.baselineWindowsWithSpike, 2);
  close(acc.stats().baselineReliability, 2 / 220, 1e-12, 'baseline reliability');
});

test('SALT latency counts of the hand-worked pulses (raw spikes, artefacts included)', () => {
  const layout = new TagLayout(defaultAnalysisOptions());
  const acc = new TagAccumulator(layout);
  handTrials(acc);
  const row = (r: number) => Array.from(acc.saltCounts.subarray(r * 11, (r + 1) * 11));
  // A: −250.3 → window 24 (−260…−250), 9.7 ms in → latency 10. Test: 0.4 → latency 1 (raw).
  // B: −5.5 → window 49, 4.5 ms in → latency 5. Test: 4.1 → latency 5.
  // C: −495.5 → window 0, latency 5. Test: 12 is past the test window → no spike (0).
  // D: test 4.2 → latency 5.
  assert.equal(row(0), [3, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
  assert.equal(row(24), [3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.equal(row(49), [3, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
  assert.equal(row(10), [4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(row(50), [1, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0]);
});

test('accumulated SALT equals SALT on rasters of the same spikes (seeded random sessions)', () => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const options = { ...defaultAnalysisOptions(), baselineMs: 100, artefactMs: 0 };
  for (let session = 0; session < 20; session++) {
    const layout = new TagLayout(options);
    const acc = new TagAccumulator(layout);
    const trials = 30;
    const baseline = new Uint8Array(trials * 100);
    const testRaster = new Uint8Array(trials * 10);
    const responder = session % 2 === 0;
    for (let t = 0; t < trials; t++) {
      const spikes: number[] = [];
      for (let ms = -100; ms < 20; ms += 0.25) if (rand() < 0.01) spikes.push(ms + rand() * 0.25);
      if (responder && rand() < 0.7) spikes.push(3 + rand() * 2);
      spikes.sort((a, b) => a - b);
      for (const x of spikes) {
        if (x < 0) baseline[t * 100 + Math.floor(x + 100)] = 1;
        else if (x < 10) testRaster[t * 10 + Math.floor(x)] = 1;
      }
      acc.addTrial(spikes, 0, spikes.length, 5);
    }
    const fromRasters = saltFromRasters(baseline, 100, testRaster, 10, trials, 1, 10);
    const accumulated = acc.salt();
    assert.is(accumulated.p, fromRasters.p, `session ${session} p`);
    assert.is(accumulated.i, fromRasters.i, `session ${session} I`);
    if (responder) assert.ok(accumulated.p < 0.01, `responder session ${session}: p = ${accumulated.p}`);
  }
});

test('the tag decision names every failed criterion', () => {
  const criteria = { ...defaultTagCriteria(), maxLatencyMs: 8, maxJitterMs: 1, minAllenRatio: 2 };
  const stats = {
    pulses: 100,
    saltP: 0.001,
    saltI: 0.3,
    latencyMs: 4.25,
    jitterMs: 0.5,
    firstSpikeLatencyMs: 4,
    reliability: 0.8,
    baselineReliability: 0.1,
    allenRatio: 5,
    evokedRateHz: 100,
    baselineRateHz: 19,
  };
  assert.equal(decideTag(stats, 0.95, criteria), { tagged: true, failed: [] });
  assert.equal(decideTag(stats, null, criteria).tagged, true, 'no waveforms: the waveform criterion is not applied');
  assert.equal(decideTag(stats, 0.5, criteria).failed, ['waveform']);
  assert.equal(decideTag({ ...stats, saltP: 0.02, latencyMs: 9, jitterMs: 2, allenRatio: 1.5 }, 0.95, criteria).failed, ['salt', 'latency', 'jitter', 'allen']);
  assert.equal(decideTag({ ...stats, reliability: 0.05 }, 0.95, criteria).failed, ['excitation']);
  assert.equal(decideTag({ ...stats, saltP: null, latencyMs: null, jitterMs: null }, 0.95, criteria).failed, ['salt', 'latency', 'jitter']);
});

test('waveform correlation: R over the window on the largest channel only', () => {
  // Two channels of 8 samples at 8 kHz (0.125 ms per sample), peak at index 2.
  // Window −0.25 ms … +0.5 ms → samples 0 … 5 (6 samples).
  const spont = {
    channelCount: 2,
    sampleCount: 8,
    sampleRateHz: 8000,
    peakIndex: 2,
    samplesUv: [
      // channel 0: small
      0, -1, -2, -1, 0, 1, 0, 0,
      // channel 1: largest (peak-to-peak 130)
      0, -40, -100, -30, 20, 30, 10, 0,
    ],
  };
  // Evoked: channel 1 is spontaneous × 0.9 + 5 (R = 1 exactly), channel 0 anti-correlated: ignored.
  // Samples 6 and 7 (outside the window) are wrecked: ignored too.
  const evoked = {
    ...spont,
    samplesUv: [0, 1, 2, 1, 0, -1, 0, 0, 5, -31, -85, -22, 23, 32, 500, -500],
  };
  close(waveformCorrelation(evoked, spont, -0.25, 0.75), 1, 1e-12, 'R');
  // Pearson by hand: x = [1, 2, 3], y = [2, 4, 7]: means 2 and 13/3; Sxy = 5, Sxx = 2, Syy = 12.667 → R = 5 / sqrt(25.333) = 0.993399.
  close(pearson([1, 2, 3], 0, [2, 4, 7], 0, 3), 5 / Math.sqrt(2 * (38 / 3)), 1e-12, 'pearson');
  assert.is(pearson([1, 1, 1], 0, [1, 2, 3], 0, 3), null);
});

test.run();
