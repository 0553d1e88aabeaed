import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_ONLINE_CLUSTER_OPTIONS, OnlineClusterer } from '../../../src/classify/units/online-clusterer.js';
import { seededRandom } from '../../helpers/seeded.js';
import { BEFORE, LENGTH, RATE_HZ, addSpike, allocateSnippets, makeUnit, twoColumnLayout, unitWaveform, worldHoods, type WorldUnit } from '../../helpers/snippet-world.js';

const NOISE_UV = 8;
const layout = twoColumnLayout(48);
const hoods = worldHoods(layout);
const noise = new Float32Array(layout.channelCount).fill(NOISE_UV);
// Two neighbouring cells 40 µm apart with different widths (a narrow PV-like one and a broader one), and a third far away.
const a = makeUnit(layout, 0, 0, 200, 120, 0.3);
const b = makeUnit(layout, 1, 32, 232, 110, 0.6);
const far = makeUnit(layout, 2, 0, 600, 100, 0.45);

/** Adds `unit`'s spike `offsetSamples` later than snippet k's trough, on snippet k's rows (the world's waveform, not the code under test's). */
function addOverlap(batch: ReturnType<typeof allocateSnippets>, k: number, unit: WorldUnit, offsetSamples: number, scale: number): void {
  const rows = batch.neighbourCapacity;
  for (let r = 0; r < rows; r++) {
    const ch = batch.channels[k * rows + r];
    if (ch < 0) continue;
    const base = (k * rows + r) * LENGTH;
    for (let t = 0; t < LENGTH; t++) batch.waveformsUv[base + t] += scale * unit.footprintUv[ch] * unitWaveform(((t - BEFORE - offsetSamples) * 1000) / RATE_HZ, unit.widthMs);
  }
}

/** A clusterer that has learnt a, b and far from isolated spikes (60 blocks of 10). */
function trained(resolveOverlaps: boolean, overlapMaxPerBatch = DEFAULT_ONLINE_CLUSTER_OPTIONS.overlapMaxPerBatch): { clusterer: OnlineClusterer; idOf: Map<number, number>; sample: number } {
  const clusterer = new OnlineClusterer(layout, { ...DEFAULT_ONLINE_CLUSTER_OPTIONS, resolveOverlaps, overlapMaxPerBatch });
  const random = seededRandom(11);
  const batch = allocateSnippets(hoods, 16);
  const votes = new Map<number, Map<number, number>>();
  let sample = 0;
  for (let block = 0; block < 60; block++) {
    batch.count = 0;
    const truth: number[] = [];
    for (let i = 0; i < 10; i++) {
      const u = [a, b, far][Math.floor(random() * 3)];
      sample += 60;
      addSpike(batch, hoods, u, sample, NOISE_UV, random, 0.9 + 0.2 * random(), random() - 0.5);
      truth.push(u.id);
    }
    clusterer.assign(batch, noise);
    clusterer.resolveDeferred(batch, noise);
    for (let i = 0; i < batch.count; i++) {
      if (batch.unitId[i] < 0) continue;
      const v = votes.get(truth[i]) ?? new Map<number, number>();
      v.set(batch.unitId[i], (v.get(batch.unitId[i]) ?? 0) + 1);
      votes.set(truth[i], v);
    }
    if (block % 20 === 19) clusterer.maintain(sample / RATE_HZ);
  }
  const idOf = new Map<number, number>();
  for (const [truth, v] of votes) idOf.set(truth, [...v].sort((x, y) => y[1] - x[1])[0][0]);
  return { clusterer, idOf, sample };
}

/**
 * Snippets of `main` (its peak channel, its trough at offset 0) with `other`'s spike added at
 * offsets of ±(4…24) samples, as the detector reports a collision: only the larger spike. Returns
 * the unit ids given, in order, with the offsets used.
 */
function overlapped(clusterer: OnlineClusterer, main: WorldUnit | null, other: WorldUnit, count: number, seed: number, sample0: number, fastPassIds: number[] = []): { ids: number[]; offsets: number[] } {
  const random = seededRandom(seed);
  const batch = allocateSnippets(hoods, 16);
  const ids: number[] = [];
  const offsets: number[] = [];
  let sample = sample0;
  while (ids.length < count) {
    batch.count = 0;
    for (let i = 0; i < 8; i++) {
      sample += 90;
      // A snippet without its own spike (noise on main's rows) when main is null.
      addSpike(batch, hoods, main ?? a, sample, NOISE_UV, random, main ? 0.9 + 0.2 * random() : 0, random() - 0.5);
      const magnitude = 4 + Math.floor(random() * 21);
      const offset = random() < 0.5 ? -magnitude : magnitude;
      addOverlap(batch, batch.count - 1, other, offset, 0.9 + 0.2 * random());
      offsets.push(offset);
    }
    clusterer.assign(batch, noise);
    for (let i = 0; i < batch.count; i++) fastPassIds.push(batch.unitId[i]);
    clusterer.resolveDeferred(batch, noise);
    for (let i = 0; i < batch.count; i++) ids.push(batch.unitId[i]);
  }
  return { ids, offsets };
}

test('overlap resolution waits for resolveDeferred(): the fast pass the rules read leaves those spikes without a unit', () => {
  const { clusterer, idOf, sample } = trained(true);
  const fast: number[] = [];
  const { ids } = overlapped(clusterer, a, b, 160, 5, sample + 1000, fast);
  const resolvedLater = ids.filter((id, i) => id === idOf.get(0) && fast[i] === -1).length;
  const wrongInFastPass = fast.filter((id) => id >= 0 && id !== idOf.get(0)).length;
  assert.ok(resolvedLater >= 40, `${resolvedLater} of 160 overlapped spikes got their unit only in the deferred pass`);
  assert.is(wrongInFastPass, 0, 'the fast pass gives no overlapped spike another cell\'s unit');
  for (let i = 0; i < fast.length; i++) if (fast[i] >= 0) assert.is(ids[i], fast[i], 'the deferred pass does not change a fast-pass id');
});

test('the learnt units are the three cells (the set-up the overlap tests rely on)', () => {
  const { idOf } = trained(true);
  assert.is(new Set([idOf.get(0), idOf.get(1), idOf.get(2)]).size, 3);
  for (const id of idOf.values()) assert.ok(id >= 0);
});

test('two overlapping spikes of different templates: the detected one gets its own unit with overlap resolution, mostly none without', () => {
  const on = trained(true);
  const off = trained(false);
  const withPeel = overlapped(on.clusterer, a, b, 200, 5, on.sample);
  const without = overlapped(off.clusterer, a, b, 200, 5, off.sample);
  const share = (ids: number[], id: number) => ids.filter((x) => x === id).length / ids.length;
  const sharePeel = share(withPeel.ids, on.idOf.get(0)!);
  const shareWithout = share(without.ids, off.idOf.get(0)!);
  assert.ok(sharePeel >= 0.8, `with overlap resolution ${(100 * sharePeel).toFixed(0)} % of a's overlapped spikes went to a's unit, expected ≥ 80 %`);
  assert.ok(shareWithout <= 0.5, `without it ${(100 * shareWithout).toFixed(0)} % did (the overlaps were expected to defeat the single-template match)`);
  // Never to the overlapping neighbour's unit.
  assert.ok(share(withPeel.ids, on.idOf.get(1)!) <= 0.02);
  assert.ok(on.clusterer.counters.overlapsResolved >= 0.8 * 200 - 40);
});

test("a neighbour's spike alone on a snippet's rows is not turned into a spike of the unit there", () => {
  const on = trained(true);
  const r = overlapped(on.clusterer, null, b, 200, 6, on.sample);
  const toA = r.ids.filter((x) => x === on.idOf.get(0)).length;
  assert.ok(toA <= 4, `${toA} of 200 noise-plus-neighbour snippets were given a's unit`);
});

test("each deferred snippet is peeled from its own match, not from the batch's last spike's", () => {
  // Batches of four a+b overlaps followed by an isolated spike of b: after the fast pass the
  // matcher's last result is b's, which once became the main spike subtracted from every overlap.
  const { clusterer, idOf, sample: sample0 } = trained(true);
  const random = seededRandom(12);
  const batch = allocateSnippets(hoods, 16);
  let sample = sample0;
  let toA = 0;
  let overlaps = 0;
  for (let block = 0; block < 40; block++) {
    batch.count = 0;
    for (let i = 0; i < 4; i++) {
      sample += 90;
      addSpike(batch, hoods, a, sample, NOISE_UV, random, 0.9 + 0.2 * random(), random() - 0.5);
      const magnitude = 4 + Math.floor(random() * 21);
      addOverlap(batch, batch.count - 1, b, random() < 0.5 ? -magnitude : magnitude, 0.9 + 0.2 * random());
    }
    sample += 90;
    addSpike(batch, hoods, b, sample, NOISE_UV, random, 0.9 + 0.2 * random(), random() - 0.5);
    clusterer.assign(batch, noise);
    clusterer.resolveDeferred(batch, noise);
    for (let i = 0; i < 4; i++) if (batch.unitId[i] === idOf.get(0)) toA++;
    overlaps += 4;
    assert.is(batch.unitId[4], idOf.get(1), "b's own spike keeps its unit");
  }
  assert.ok(toA >= 0.8 * overlaps, `${toA} of ${overlaps} overlapped spikes of a went to a's unit, expected ≥ 80 %`);
});

test('overlap resolution is bounded per batch (overlapMaxPerBatch)', () => {
  const { clusterer, sample } = trained(true, 2);
  const before = clusterer.counters.overlapsTried;
  // 3 batches of 8 overlapped snippets: at most 2 tried in each.
  const r = overlapped(clusterer, a, b, 24, 7, sample);
  const tried = clusterer.counters.overlapsTried - before;
  assert.is(tried, 6);
  assert.ok(r.ids.filter((x) => x < 0).length >= 24 - 6 - 4);
});

const GEOMETRY = { refractoryMs: 1, peakWindowMs: 0.4, radiusUm: 60, thresholdSigma: 5, thresholdUv: null, snippetRadiusUm: 60 };

/** Batches of 8 snippets of a, each with b's spike at an offset drawn from `offsets`; every spike the batch holds afterwards (detected then appended). */
function collisions(clusterer: OnlineClusterer, offsets: readonly number[], blocks: number, seed: number, sample0: number) {
  const random = seededRandom(seed);
  const batch = allocateSnippets(hoods, 16);
  const appended: { sample: number; unit: number; channel: number; firstRow: number; expected: number }[] = [];
  let detected = 0;
  let sample = sample0;
  for (let block = 0; block < blocks; block++) {
    batch.count = 0;
    const hidden: number[] = [];
    for (let i = 0; i < 8; i++) {
      sample += 90;
      addSpike(batch, hoods, a, sample, NOISE_UV, random, 0.9 + 0.2 * random(), random() - 0.5);
      const offset = offsets[Math.floor(random() * offsets.length)];
      addOverlap(batch, batch.count - 1, b, offset, 0.9 + 0.2 * random());
      hidden.push(sample + offset);
    }
    detected += batch.count;
    clusterer.assign(batch, noise);
    clusterer.resolveDeferred(batch, noise);
    for (let i = 8; i < batch.count; i++) {
      const t = batch.peakSampleIndex[i];
      const expected = hidden.reduce((best, h) => (Math.abs(h - t) < Math.abs(best - t) ? h : best), Infinity);
      appended.push({ sample: t, unit: batch.unitId[i], channel: batch.peakChannel[i], firstRow: batch.channels[i * batch.neighbourCapacity], expected });
    }
  }
  return { appended, detected };
}

test("a spike hidden in the detector's blind zone is recovered with its unit, time and own rows", () => {
  const on = trained(true);
  on.clusterer.setDetectionGeometry(GEOMETRY);
  // b's trough 4…30 samples (0.13…1 ms) after a's: inside the 1 ms refractory lock of a's neighbourhood.
  const after = Array.from({ length: 27 }, (_, i) => 4 + i);
  const r = collisions(on.clusterer, after, 25, 8, on.sample);
  assert.ok(r.appended.length >= 0.7 * r.detected, `${r.appended.length} of ${r.detected} hidden spikes recovered, expected ≥ 70 %`);
  assert.ok(r.appended.length <= r.detected, 'at most one recovered spike per collision');
  for (const s of r.appended) {
    assert.is(s.unit, on.idOf.get(1));
    assert.ok(Math.abs(s.sample - s.expected) <= 2, `recovered at ${s.sample}, hidden spike at ${s.expected}`);
    assert.is(s.channel, on.clusterer.peakChannelOf(s.unit));
    assert.is(s.firstRow, s.channel, "the recovered snippet's rows are its own peak channel's neighbourhood");
  }
  assert.is(on.clusterer.counters.recovered, r.appended.length);
});

test('a spike the detector could have reported (before the peak window) or no geometry: nothing is appended', () => {
  const on = trained(true);
  on.clusterer.setDetectionGeometry(GEOMETRY);
  // 13…24 samples before a's trough: more than peakWindowMs (12 samples) earlier, so the detector saw it.
  const before = Array.from({ length: 12 }, (_, i) => -13 - i);
  assert.is(collisions(on.clusterer, before, 10, 9, on.sample).appended.length, 0);
  const none = trained(true);
  const after = Array.from({ length: 27 }, (_, i) => 4 + i);
  assert.is(collisions(none.clusterer, after, 10, 10, none.sample).appended.length, 0);
});

test.run();
