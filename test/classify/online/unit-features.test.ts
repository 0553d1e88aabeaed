import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UnitFeatures } from '../../../src/classify/online/unit-features.js';
import { UnitTracker } from '../../../src/classify/online/unit-tracker.js';
import { seededRandom } from '../../helpers/seeded.js';
import { RATE_HZ, addSpike, allocateSnippets, makeUnit, twoColumnLayout, unitWaveform, worldHoods } from '../../helpers/snippet-world.js';

const layout = twoColumnLayout(32);
const hoods = worldHoods(layout);
const limits = { maxSpikes: 500, initialSpikeCapacity: 64, acgMaxLagMs: 100, isiMaxMs: 100 };

/** Feeds `count` spikes of one unit every `periodMs`, all assigned to unit 7. */
function feedPeriodic(tracker: UnitTracker, count: number, periodMs: number, noiseUv: number, seed = 1): void {
  const unit = makeUnit(layout, 0, 10, 200, 120, 0.5);
  const random = seededRandom(seed);
  const batch = allocateSnippets(hoods, 8);
  for (let i = 0; i < count; i += 4) {
    batch.count = 0;
    for (let j = i; j < Math.min(count, i + 4); j++) addSpike(batch, hoods, unit, 30000 + Math.round((j * periodMs * RATE_HZ) / 1000), noiseUv, random);
    for (let k = 0; k < batch.count; k++) batch.unitId[k] = 7;
    tracker.onSpikes(batch);
    tracker.maintain([], 0);
  }
}

test('a periodic train: ACG counts n − m at m periods, ISIs all in one bin, the rate from the span', () => {
  const tracker = new UnitTracker(layout, limits);
  feedPeriodic(tracker, 400, 10, 0);
  const s = tracker.summary(7, null)!;
  assert.is(s.spikeCount, 400);
  // Lags 10, 20 … 100 ms: spike i pairs with i − m for every i ≥ m → 400 − m pairs at lag 10·m.
  for (let lag = 1; lag <= 100; lag++) assert.is(s.acg[lag - 1], lag % 10 === 0 ? 400 - lag / 10 : 0, `lag ${lag}`);
  const f = tracker.get(7)!;
  assert.is(f.isi[10], 399);
  assert.is(f.isi.reduce((a, b) => a + b, 0), 399);
  // 400 spikes over 3.99 s (first to last): 100.25 Hz.
  assert.ok(Math.abs(s.firingRateHz - 400 / 3.99) < 1e-6, String(s.firingRateHz));
});

test('a spike that arrives after a later one (recovered from an overlap) is counted as if it had come in order', () => {
  const random = seededRandom(5);
  const sorted: number[] = [];
  let t = 1;
  for (let i = 0; i < 300; i++) sorted.push((t += 0.002 + random() * 0.03));
  const features = (ring: number) => new UnitFeatures(1, 's', RATE_HZ, [0], 4, 1, { maxSpikes: ring, initialSpikeCapacity: ring, acgMaxLagMs: 50, isiMaxMs: 50 });
  for (const ring of [1000, 64]) {
    const inOrder = features(ring);
    for (const x of sorted) inOrder.addTime(x);
    // Every 7th spike arrives after the next one or two, as recovered spikes do.
    const late = features(ring);
    for (let i = 0; i < sorted.length; i++) {
      if (i % 7 === 3 && i + 2 < sorted.length) {
        late.addTime(sorted[i + 1]);
        late.addTime(sorted[i + 2]);
        late.addTime(sorted[i]);
        i += 2;
      } else late.addTime(sorted[i]);
    }
    assert.equal(Array.from(late.isi), Array.from(inOrder.isi), `ISI histogram, ring ${ring}`);
    assert.equal(Array.from(late.acg), Array.from(inOrder.acg), `ACG, ring ${ring}`);
    assert.equal(Array.from(late.spikeTimes()), Array.from(inOrder.spikeTimes()), `stored times in order, ring ${ring}`);
    assert.is(late.spikeCount, 300);
    assert.is(late.firstSpikeS, sorted[0]);
    assert.is(late.lastSpikeS, sorted[299]);
    assert.is(late.isi[0], 0, 'no false refractory violation');
  }
});

test('the time ring grows in maintenance up to maxSpikes, then keeps the most recent', () => {
  const tracker = new UnitTracker(layout, limits);
  feedPeriodic(tracker, 1000, 5, 0);
  const f = tracker.get(7)!;
  assert.is(f.times.length, 500);
  const times = f.spikeTimes();
  assert.is(times.length, 500);
  // The newest 500 of 1000 spikes every 5 ms from 1 s: spike 500 onwards.
  assert.ok(Math.abs(times[0] - (1 + 500 * 0.005)) < 1e-9, String(times[0]));
  assert.ok(Math.abs(times[499] - (1 + 999 * 0.005)) < 1e-9);
  assert.is(f.spikeCount, 1000);
});

test('the mean waveform converges to the unit’s noise-free waveform; trough-to-peak and peak channel follow', () => {
  const tracker = new UnitTracker(layout, limits, [{ name: 'deep', fromUm: 0, toUm: 150 }, { name: 'superficial', fromUm: 150, toUm: 400 }]);
  feedPeriodic(tracker, 400, 10, 10, 3);
  const unit = makeUnit(layout, 0, 10, 200, 120, 0.5);
  const s = tracker.summary(7, null)!;
  assert.is(s.peakChannel, unit.peakChannel);
  assert.is(s.layer, 'superficial');
  let worst = 0;
  for (let t = 0; t < s.meanWaveformUv.length; t++) {
    const truth = unit.footprintUv[unit.peakChannel] * unitWaveform(((t - 30) * 1000) / RATE_HZ, 0.5);
    worst = Math.max(worst, Math.abs(s.meanWaveformUv[t] - truth));
  }
  // 400 spikes of σ = 10 µV noise: the mean's σ is 0.5 µV; 4σ bounds every sample.
  assert.ok(worst < 2, `worst ${worst} µV`);
  // The world's waveform peaks 0.5 ms after its trough (plus a little from the overlap of its two terms).
  assert.ok(Math.abs(s.troughToPeakMs! - 0.5) < 0.07, String(s.troughToPeakMs));
});

test('a merge: the survivor takes the absorbed unit’s spikes, waveform sums and recomputed ACG', () => {
  const tracker = new UnitTracker(layout, limits);
  const unit = makeUnit(layout, 0, 10, 200, 120, 0.5);
  const random = seededRandom(5);
  const batch = allocateSnippets(hoods, 4);
  // Unit 1 at 0, 20, 40 … ms; unit 2 at 10, 30, 50 … ms: merged, one spike every 10 ms.
  for (let i = 0; i < 100; i++) {
    batch.count = 0;
    addSpike(batch, hoods, unit, 30000 + i * 300, 0, random);
    batch.unitId[0] = i % 2 ? 2 : 1;
    tracker.onSpikes(batch);
  }
  assert.is(tracker.get(1)!.acg[9], 0, 'no 10 ms pairs within unit 1');
  tracker.maintain([{ kind: 'merged', survivor: 1, absorbed: 2, streamTimeS: 2 }], 2);
  assert.equal(tracker.unitIds(), [1]);
  const f = tracker.get(1)!;
  assert.is(f.spikeCount, 100);
  assert.is(f.acg[9], 99);
  assert.is(f.rowSpikes[0], 100);
});

test.run();
