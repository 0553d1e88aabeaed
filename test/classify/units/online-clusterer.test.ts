import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_ONLINE_CLUSTER_OPTIONS, OnlineClusterer, type OnlineClusterOptions } from '../../../src/classify/units/online-clusterer.js';
import { SplitTest } from '../../../src/classify/units/split-test.js';
import type { UnitEvent } from '../../../src/classify/units/unit-assigner.js';
import { seededRandom } from '../../helpers/seeded.js';
import { RATE_HZ, addSpike, allocateSnippets, makeUnit, twoColumnLayout, worldHoods, type WorldUnit } from '../../helpers/snippet-world.js';

const NOISE_UV = 8;
const layout = twoColumnLayout(48);
const hoods = worldHoods(layout);
const noise = new Float32Array(layout.channelCount).fill(NOISE_UV);

interface Run {
  readonly clusterer: OnlineClusterer;
  /** [true unit, assigned id as emitted] per spike, in order. */
  readonly spikes: [number, number][];
  readonly events: UnitEvent[];
}

/**
 * Feeds `blocks` blocks of 10 spikes drawn from `pick` (amplitude ±15 %, sub-sample jitter) and
 * runs maintenance every 100 blocks (1 s of stream time) as full passes, or, with `slices`, as the
 * live path does: a slice every block, one sweep of every slot per 100 blocks, split tests advanced
 * by `splitIterations` power iterations a slice.
 */
function run(
  units: readonly WorldUnit[],
  options: OnlineClusterOptions,
  blocks: number,
  seed: number,
  pick?: (block: number, random: () => number) => WorldUnit,
  clusterer = new OnlineClusterer(layout, options),
  slices = false,
  splitIterations = 4,
): Run {
  const random = seededRandom(seed);
  const batch = allocateSnippets(hoods, 16);
  const spikes: [number, number][] = [];
  const events: UnitEvent[] = [];
  let sample = 0;
  for (let b = 0; b < blocks; b++) {
    batch.count = 0;
    const truth: number[] = [];
    for (let i = 0; i < 10; i++) {
      const u = pick ? pick(b, random) : units[Math.floor(random() * units.length)];
      sample += 30;
      addSpike(batch, hoods, u, sample, NOISE_UV, random, 0.85 + 0.3 * random(), random() - 0.5);
      truth.push(u.id);
    }
    clusterer.assign(batch, noise);
    clusterer.resolveDeferred(batch, noise);
    for (let i = 0; i < batch.count; i++) spikes.push([truth[i], batch.unitId[i]]);
    if (slices) events.push(...clusterer.maintainSlice(sample / RATE_HZ, clusterer.slotCount / 100, splitIterations));
    else if (b % 100 === 99) events.push(...clusterer.maintain(sample / RATE_HZ));
  }
  return { clusterer, spikes, events };
}

/** Majority id (after merges) of each true unit, and the accuracy of that mapping over assigned spikes. */
function score(r: Run, from = 0): { accuracy: number; assigned: number; majority: Map<number, number> } {
  const votes = new Map<number, Map<number, number>>();
  let assigned = 0;
  for (const [truth, id] of r.spikes.slice(from)) {
    if (id < 0) continue;
    assigned++;
    const final = r.clusterer.resolve(id);
    const v = votes.get(final) ?? new Map<number, number>();
    v.set(truth, (v.get(truth) ?? 0) + 1);
    votes.set(final, v);
  }
  // Each unit id is credited with the true unit holding most of its spikes.
  let correct = 0;
  const majority = new Map<number, number>();
  for (const [id, v] of votes) {
    let best = -1;
    let bestN = 0;
    for (const [truth, n] of v) if (n > bestN) [best, bestN] = [truth, n];
    correct += bestN;
    majority.set(id, best);
  }
  return { accuracy: correct / assigned, assigned: assigned / (r.spikes.length - from), majority };
}

test('cold start: ten units become ten stable ids, spikes assigned with ≥ 98 % accuracy', () => {
  const random = seededRandom(2);
  const units = Array.from({ length: 10 }, (_, i) => makeUnit(layout, i, 32 * random(), 40 + 45 * i, 60 + 120 * random(), 0.2 + 0.6 * random()));
  const r = run(units, DEFAULT_ONLINE_CLUSTER_OPTIONS, 1500, 3);
  const s = score(r);
  assert.ok(s.accuracy >= 0.98, `accuracy ${s.accuracy}`);
  assert.ok(s.assigned >= 0.95, `assigned ${s.assigned}`);
  assert.equal(r.clusterer.unitIds().length, 10, `ids ${r.clusterer.unitIds()}`);
  // Stable: once a spike got an id, later spikes of the same unit get the same id.
  const first = new Map<number, number>();
  let changed = 0;
  for (const [truth, id] of r.spikes) {
    if (id < 0) continue;
    const f = first.get(truth);
    if (f === undefined) first.set(truth, id);
    else if (r.clusterer.resolve(id) !== r.clusterer.resolve(f)) changed++;
  }
  assert.ok(changed <= 0.01 * r.spikes.length, `${changed} spikes changed id`);
  assert.is(r.events.filter((e) => e.kind === 'created').length, r.clusterer.counters.promotions);
});

test('merges: a unit cut into several templates by strict matching is merged into the OLDEST id', () => {
  const units = [makeUnit(layout, 0, 10, 200, 150, 0.4), makeUnit(layout, 1, 10, 400, 120, 0.7)];
  // A strict acceptance bound at first cuts each unit over several templates; then the normal one
  // lets every template learn its unit's mean, and maintenance merges them.
  const strict = { ...DEFAULT_ONLINE_CLUSTER_OPTIONS, maxExcessSigma: -3, maxTemplateError: 0, promoteSpikes: 3 };
  const clusterer = new OnlineClusterer(layout, strict);
  const early = run(units, strict, 60, 5, undefined, clusterer);
  const ids = (r: Run, u: number) => [...new Set(r.spikes.filter(([t, id]) => t === u && id >= 0).map(([, id]) => id))];
  assert.ok(ids(early, 0).length >= 2, `unit 0 had ids ${ids(early, 0)}`);
  clusterer.setAcceptance({ maxExcessSigma: DEFAULT_ONLINE_CLUSTER_OPTIONS.maxExcessSigma, maxTemplateError: DEFAULT_ONLINE_CLUSTER_OPTIONS.maxTemplateError });
  const later = run(units, strict, 300, 6, undefined, clusterer);
  const merges = later.events.filter((e): e is Extract<UnitEvent, { kind: 'merged' }> => e.kind === 'merged');
  assert.ok(merges.length >= 1, JSON.stringify(later.events));
  for (const m of merges) assert.ok(m.survivor < m.absorbed, 'the survivor holds the older (smaller) id');
  // Every id a unit ever had now resolves to its oldest one.
  for (const u of [0, 1]) {
    const all = [...ids(early, u), ...ids(later, u)];
    for (const id of all) assert.is(clusterer.resolve(id), Math.min(...all), `unit ${u}: ids ${all}`);
  }
  assert.is(clusterer.unitIds().length, 2, String(clusterer.unitIds()));
  // After the merges each unit's new spikes carry one id, the surviving one.
  const after = run(units, strict, 50, 7, undefined, clusterer);
  for (const u of [0, 1]) assert.equal(ids(after, u), [clusterer.resolve(ids(early, u)[0])]);
});

test('relative merge: a large unit cut by its amplitude states is merged; a different unit beside it is not', () => {
  // SNR 50: in a "burst" state (every other 50 blocks) the spike is 30 % smaller and broader, which
  // the matcher cannot absorb by scaling, so the unit gets a second template. The two templates
  // differ by far more than the noise (the χ² test alone never merges them) but by a small fraction
  // of their energy. The other unit, 25 µm away, differs in shape by more than that fraction.
  const calm = makeUnit(layout, 0, 10, 300, 400, 0.4);
  const burst = makeUnit(layout, 0, 10, 300, 400, 0.5);
  const other = makeUnit(layout, 1, 22, 320, 300, 0.8);
  const runStates = (options: OnlineClusterOptions) => {
    const clusterer = new OnlineClusterer(layout, options);
    const random = seededRandom(11);
    const batch = allocateSnippets(hoods, 16);
    const idsOf = [new Set<number>(), new Set<number>()];
    let sample = 0;
    for (let b = 0; b < 1500; b++) {
      batch.count = 0;
      const truth: number[] = [];
      for (let i = 0; i < 10; i++) {
        sample += 30;
        if (random() < 0.3) {
          addSpike(batch, hoods, other, sample, NOISE_UV, random, 0.9 + 0.2 * random(), random() - 0.5);
          truth.push(1);
        } else {
          const inBurst = Math.floor(b / 50) % 2 === 1;
          addSpike(batch, hoods, inBurst ? burst : calm, sample, NOISE_UV, random, (inBurst ? 0.7 : 1) * (0.95 + 0.1 * random()), random() - 0.5);
          truth.push(0);
        }
      }
      clusterer.assign(batch, noise);
      clusterer.resolveDeferred(batch, noise);
      for (let i = 0; i < batch.count; i++) if (batch.unitId[i] >= 0) idsOf[truth[i]].add(batch.unitId[i]);
      if (b % 100 === 99) clusterer.maintain(sample / RATE_HZ);
    }
    const resolved = idsOf.map((ids) => new Set([...ids].map((id) => clusterer.resolve(id))));
    return { clusterer, idsOf, resolved };
  };
  const chi2Only = runStates({ ...DEFAULT_ONLINE_CLUSTER_OPTIONS, mergeMaxRelative: 0 });
  assert.ok(chi2Only.resolved[0].size >= 2, `without the relative test the unit keeps ${chi2Only.resolved[0].size} ids`);
  const relative = runStates({ ...DEFAULT_ONLINE_CLUSTER_OPTIONS, mergeMaxRelative: 0.05 });
  assert.is(relative.resolved[0].size, 1, `ids ${[...relative.idsOf[0]]}`);
  assert.is(relative.resolved[1].size, 1);
  const [kept] = relative.resolved[0];
  assert.is(kept, Math.min(...relative.idsOf[0]), 'the merged unit keeps its oldest id');
  assert.not.ok(relative.resolved[1].has(kept), 'the other unit is not merged in');
  assert.equal(relative.clusterer.unitIds().length, 2);
});

test('splits: two units sharing one template are split; the parent keeps its id, the new group gets a new one', () => {
  // Same place and size, different widths; a permissive bound lets one template absorb both.
  const units = [makeUnit(layout, 0, 16, 300, 140, 0.25), makeUnit(layout, 1, 16, 300, 140, 0.85)];
  const permissive = { ...DEFAULT_ONLINE_CLUSTER_OPTIONS, maxExcessSigma: 1e6, splitEveryS: 1 };
  const r = run(units, permissive, 400, 7);
  const splits = r.events.filter((e): e is Extract<UnitEvent, { kind: 'split' }> => e.kind === 'split');
  assert.ok(splits.length >= 1, `events ${JSON.stringify(r.events)}`);
  const parent = splits[0].parent;
  assert.ok(splits[0].unitId > parent, 'a split creates a new (larger) id');
  assert.ok(r.clusterer.unitIds().includes(parent), 'the parent keeps its id');
  // After the split the two units go to different ids.
  const firstSplit = r.spikes.findIndex((_, i) => i >= 1000 * (Math.floor(splits[0].streamTimeS) + 1));
  const s = score(r, Math.max(0, firstSplit));
  assert.ok(new Set(s.majority.values()).size === 2, JSON.stringify([...s.majority]));
  assert.ok(s.accuracy >= 0.9, `accuracy after the split ${s.accuracy}`);
});

test('maintenance in slices (the live path) merges and splits as full passes do', () => {
  // The merge scenario above, maintained a slice per block.
  const units = [makeUnit(layout, 0, 10, 200, 150, 0.4), makeUnit(layout, 1, 10, 400, 120, 0.7)];
  const strict = { ...DEFAULT_ONLINE_CLUSTER_OPTIONS, maxExcessSigma: -3, maxTemplateError: 0, promoteSpikes: 3 };
  const clusterer = new OnlineClusterer(layout, strict);
  run(units, strict, 60, 5, undefined, clusterer, true);
  const before = clusterer.unitIds().length;
  assert.ok(before >= 3, `strict matching cut the units into ${before} ids`);
  clusterer.setAcceptance({ maxExcessSigma: DEFAULT_ONLINE_CLUSTER_OPTIONS.maxExcessSigma, maxTemplateError: DEFAULT_ONLINE_CLUSTER_OPTIONS.maxTemplateError });
  const later = run(units, strict, 300, 6, undefined, clusterer, true);
  assert.ok(later.events.some((e) => e.kind === 'merged'), JSON.stringify(later.events));
  assert.is(clusterer.unitIds().length, 2, String(clusterer.unitIds()));
  // The split scenario, maintained a slice per block.
  const shared = [makeUnit(layout, 0, 16, 300, 140, 0.25), makeUnit(layout, 1, 16, 300, 140, 0.85)];
  const permissive = { ...DEFAULT_ONLINE_CLUSTER_OPTIONS, maxExcessSigma: 1e6, splitEveryS: 1 };
  const split = run(shared, permissive, 400, 7, undefined, undefined, true);
  assert.ok(split.events.some((e) => e.kind === 'split'), JSON.stringify(split.events));
  const s = score(split, 3000);
  assert.is(new Set(s.majority.values()).size, 2, JSON.stringify([...s.majority]));
});

test('in slices a split test spreads over blocks: with one power iteration a slice, the same split comes later', () => {
  const shared = [makeUnit(layout, 0, 16, 300, 140, 0.25), makeUnit(layout, 1, 16, 300, 140, 0.85)];
  const permissive = { ...DEFAULT_ONLINE_CLUSTER_OPTIONS, maxExcessSigma: 1e6, splitEveryS: 1 };
  const splitAt = (iterations: number): number => {
    const r = run(shared, permissive, 400, 7, undefined, undefined, true, iterations);
    const event = r.events.find((e) => e.kind === 'split');
    assert.ok(event, `no split with ${iterations} iterations a slice`);
    return event!.streamTimeS;
  };
  const whole = splitAt(Number.POSITIVE_INFINITY);
  const stepped = splitAt(1);
  // A test needs ≥ 3 iterations, so ≥ 2 more blocks (10 ms of this stream each) before its answer.
  assert.ok(stepped >= whole + 0.02, `split at ${stepped} s in steps, ${whole} s whole`);
  assert.ok(stepped <= whole + 0.3, `split at ${stepped} s in steps, ${whole} s whole: 30 iterations are 30 blocks at most`);
});

test('bounded memory: no more units than maxUnits, no more provisional templates than maxProvisional', () => {
  const random = seededRandom(9);
  const units = Array.from({ length: 8 }, (_, i) => makeUnit(layout, i, 32 * random(), 40 + 55 * i, 100, 0.3 + 0.05 * i));
  const capped = { ...DEFAULT_ONLINE_CLUSTER_OPTIONS, maxUnits: 3, maxProvisional: 8, promoteSpikes: 10 };
  const r = run(units, capped, 600, 11);
  assert.is(r.clusterer.unitIds().length, 3);
  assert.ok(r.clusterer.counters.promotionsRefused > 0);
  assert.ok(r.clusterer.templateCount() <= 11, String(r.clusterer.templateCount()));
  // Spikes of units without a slot are −1, never another unit's id.
  const s = score(r);
  assert.ok(s.accuracy >= 0.98, `accuracy ${s.accuracy}`);
});

test('split test: one Gaussian blob is not split, two separated blobs are, with the minority marked', () => {
  const random = seededRandom(13);
  const d = 6;
  const test1 = new SplitTest(d, 200);
  const data = new Float32Array(200 * d);
  const g = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  for (let i = 0; i < 200 * d; i++) data[i] = g();
  const one = test1.run(data, 200, 5, 0.15);
  assert.not.ok(one.split, `d' ${one.dPrime}`);
  assert.ok(one.dPrime > 2 && one.dPrime < 3.5, `a halved Gaussian has d' ≈ 2.7, got ${one.dPrime}`);
  for (let i = 0; i < 60; i++) for (let j = 0; j < d; j++) data[i * d + j] += 8;
  const two = test1.run(data, 200, 5, 0.15);
  assert.ok(two.split, `d' ${two.dPrime}`);
  assert.ok(Math.abs(two.minorityFraction - 0.3) < 0.02);
  for (let i = 0; i < 200; i++) assert.is(two.group[i], i < 60 ? 1 : 0);
});

test.run();
