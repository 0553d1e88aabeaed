import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SnippetBatch } from '../../../src/core/spikes.js';
import { DEFAULT_ONLINE_CLUSTER_OPTIONS, OnlineClusterer } from '../../../src/classify/units/online-clusterer.js';
import { TemplateMatcher, type MatchOptions } from '../../../src/classify/units/template-matcher.js';
import { EarlyIdTally, describeEarlyIds } from '../../../src/classify/units/early-id-tally.js';
import { seededRandom } from '../../helpers/seeded.js';
import { BEFORE, LENGTH, RATE_HZ, addSpike, allocateSnippets, bankOfUnit, makeUnit, shortSnippets, twoColumnLayout, worldHoods } from '../../helpers/snippet-world.js';

const NOISE_UV = 8;
const layout = twoColumnLayout(48);
const hoods = worldHoods(layout);
const noise = new Float32Array(layout.channelCount).fill(NOISE_UV);
const EARLY_AFTER = 12;

test('early ids from 12 samples after the trough: the full assignment confirms them, and they change nothing', () => {
  const random = seededRandom(2);
  const units = Array.from({ length: 10 }, (_, i) => makeUnit(layout, i, 32 * random(), 40 + 45 * i, 60 + 120 * random(), 0.2 + 0.6 * random()));
  const clusterer = new OnlineClusterer(layout, DEFAULT_ONLINE_CLUSTER_OPTIONS);
  const batch = allocateSnippets(hoods, 16);
  let sample = 0;
  const fill = () => {
    batch.count = 0;
    for (let i = 0; i < 10; i++) {
      sample += 30;
      addSpike(batch, hoods, units[Math.floor(random() * units.length)], sample, NOISE_UV, random, 0.85 + 0.3 * random(), random() - 0.5);
    }
  };
  // Before any full snippet there are no templates: every early id is −1.
  fill();
  const cold = shortSnippets(batch, EARLY_AFTER);
  cold.unitId.fill(7);
  clusterer.identifyEarly(cold, noise);
  assert.equal(Array.from(cold.unitId.subarray(0, cold.count)), new Array(cold.count).fill(-1));
  // Learn the units, as the full path does.
  for (let b = 0; b < 1000; b++) {
    fill();
    clusterer.assign(batch, noise);
    clusterer.resolveDeferred(batch, noise);
    if (b % 100 === 99) clusterer.maintain(sample / RATE_HZ);
  }
  assert.is(clusterer.unitIds().length, 10);
  const tally = new EarlyIdTally();
  let earlyAssigned = 0;
  let compared = 0;
  for (let b = 0; b < 300; b++) {
    fill();
    const early = shortSnippets(batch, EARLY_AFTER);
    const countersBefore = JSON.stringify(clusterer.counters);
    clusterer.identifyEarly(early, noise);
    assert.is(JSON.stringify(clusterer.counters), countersBefore, 'early identification learns nothing and seeds nothing');
    tally.recordEarly(early);
    for (let k = 0; k < early.count; k++) if (early.unitId[k] >= 0) earlyAssigned++;
    compared += early.count;
    clusterer.assign(batch, noise);
    clusterer.resolveDeferred(batch, noise);
    tally.compareFull(batch, early.count);
  }
  const c = tally.counts();
  assert.is(c.spikes, compared);
  const withUnit = c.agreed + c.missed + c.differed;
  assert.ok(c.agreed >= 0.9 * withUnit, describeEarlyIds(c));
  assert.ok(c.differed <= 0.01 * withUnit, describeEarlyIds(c));
  assert.ok(earlyAssigned >= 0.9 * compared, `${earlyAssigned} of ${compared} spikes got an early id`);
});

test('the early matcher compares only its own window: a difference after it does not count', () => {
  const small = twoColumnLayout(24);
  const smallHoods = worldHoods(small);
  const unit = makeUnit(small, 0, 10, 200, 300, 0.25);
  const bank = bankOfUnit(smallHoods, unit, 10, 24);
  const start = smallHoods.offsets[unit.peakChannel];
  const rows = bank.rowCount[0];
  const batch = allocateSnippets(smallHoods, 1);
  addSpike(batch, smallHoods, unit, 1000, 1, seededRandom(9));
  // Another cell's spike 20 samples after the trough: outside a window that ends 11 samples after it.
  for (let r = 0; r < rows; r++) for (let t = BEFORE + 18; t <= BEFORE + 22; t++) batch.waveformsUv[r * LENGTH + t] -= 0.8 * unit.footprintUv[smallHoods.indices[start + r]];
  const options: MatchOptions = { maxShift: 1, minScale: 0.6, maxScale: 1.6, maxExcessSigma: 6, maxTemplateError: 0.03 };
  const full = new TemplateMatcher(bank, small.channelCount, smallHoods.maxSize, options).match(batch, 0, new Float32Array(small.channelCount).fill(1), Int32Array.of(0), 0, 1);
  assert.not.ok(full.accepted, `the full window sees the other spike (residual ${full.residual}, bound ${full.bound})`);
  const early = new TemplateMatcher(bank, small.channelCount, smallHoods.maxSize, options, { before: 10, after: 11 });
  const m = early.match(batch, 0, new Float32Array(small.channelCount).fill(1), Int32Array.of(0), 0, 1);
  assert.ok(m.accepted, `residual ${m.residual}, bound ${m.bound}`);
  assert.is(m.samples, rows * (10 + 1 + 11));
  assert.is(m.shift, 0);
  assert.throws(() => new TemplateMatcher(bank, small.channelCount, smallHoods.maxSize, options, { before: 10, after: 61 }), /window -10…\+61 around index 30 must lie inside the templates' 91 samples/);
});

test('early snippets too short to match on are refused at start-up, naming the option', () => {
  const clusterer = new OnlineClusterer(layout, DEFAULT_ONLINE_CLUSTER_OPTIONS);
  clusterer.checkSnippetGeometry(30, 60, RATE_HZ, 0);
  clusterer.checkSnippetGeometry(30, 60, RATE_HZ, 2);
  assert.throws(() => clusterer.checkSnippetGeometry(30, 60, RATE_HZ, 1), /expected pipeline\.snippets\.earlySamplesAfter ≥ 2 \(or 0: off\), got 1/);
});

test('the tally pairs early and full ids in order across blocks and counts each outcome', () => {
  const tally = new EarlyIdTally();
  const batch = (ids: number[]) => ({ count: ids.length, unitId: Int32Array.from(ids) }) as unknown as SnippetBatch;
  tally.recordEarly(batch([3, -1, 4]));
  tally.recordEarly(batch([5, -1]));
  // The full batch of the first three, with a recovered spike appended (not compared).
  tally.compareFull(batch([3, 2, 9, 8]), 3);
  assert.equal(tally.counts(), { spikes: 3, agreed: 1, missed: 1, differed: 1, extra: 0, neither: 0 });
  tally.compareFull(batch([-1, -1]), 2);
  assert.equal(tally.counts(), { spikes: 5, agreed: 1, missed: 1, differed: 1, extra: 1, neither: 1 });
  // More spikes in flight than the ring started with: it grows and keeps the order.
  const many = Array.from({ length: 700 }, (_, i) => (i % 7) - 1);
  tally.recordEarly(batch(many));
  tally.compareFull(batch(many), 700);
  assert.is(tally.counts().agreed, 1 + 600);
  assert.is(tally.counts().neither, 1 + 100);
  assert.match(describeEarlyIds(tally.counts()), /^early ids: /);
});

test.run();
