// SplitTest: two groups along a direction the vectors do not share with the noise are found and cut
// apart exactly; one Gaussian cloud is not split; repeated runs give the same answer (the early
// stop of the power iteration is deterministic); a test run in steps gives the whole run's answer,
// on the vectors as they were when it began, with their groups' means.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SplitTest } from '../../../src/classify/units/split-test.js';
import { seededRandom } from '../../helpers/seeded.js';

const D = 93;

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** `count` vectors of unit noise; those with index < `minority` shifted by `separation` along a fixed random direction. */
function cloud(count: number, minority: number, separation: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const direction = new Float64Array(D).map(() => gaussian(random));
  const norm = Math.hypot(...direction);
  const data = new Float32Array(count * D);
  for (let i = 0; i < count; i++) for (let j = 0; j < D; j++) data[i * D + j] = gaussian(random) + (i < minority ? (separation * direction[j]) / norm : 0);
  return data;
}

test('two groups 12 σ apart: split, minority fraction and groups exact', () => {
  const split = new SplitTest(D, 100);
  const r = split.run(cloud(100, 30, 12, 1), 100, 5, 0.15);
  assert.ok(r.split, `d′ ${r.dPrime.toFixed(1)}`);
  assert.ok(r.dPrime > 8, `d′ ${r.dPrime.toFixed(1)}`);
  assert.is(r.minorityFraction, 0.3);
  for (let i = 0; i < 100; i++) assert.is(r.group[i], i < 30 ? 1 : 0, `vector ${i}`);
});

test('one cloud: no split; a 5 % group is below minFraction', () => {
  const split = new SplitTest(D, 100);
  const one = split.run(cloud(100, 0, 0, 2), 100, 5, 0.15);
  assert.not.ok(one.split, `d′ ${one.dPrime.toFixed(1)} on pure noise`);
  const small = split.run(cloud(100, 5, 12, 3), 100, 5, 0.15);
  assert.not.ok(small.split);
  assert.is(small.minorityFraction, 0.05);
});

test('deterministic: the same data give the same d′ and groups, whatever ran before', () => {
  const split = new SplitTest(D, 100);
  const data = cloud(100, 40, 7, 4);
  const first = split.run(data, 100, 5, 0.15);
  const dPrime = first.dPrime;
  const groups = Array.from(first.group);
  split.run(cloud(100, 0, 0, 5), 100, 5, 0.15);
  const again = split.run(data, 100, 5, 0.15);
  assert.is(again.dPrime, dPrime);
  assert.equal(Array.from(again.group), groups);
});

test('in steps: the same d′ and groups as a whole run, from the vectors as they were at begin()', () => {
  const whole = new SplitTest(D, 100);
  const data = cloud(100, 35, 6, 6);
  const expected = whole.run(data, 100, 5, 0.15);
  const stepped = new SplitTest(D, 100);
  const live = data.slice();
  stepped.begin(live, 100, 5, 0.15);
  assert.ok(stepped.inProgress);
  // The caller's ring fills on meanwhile: the test works on its copy.
  live.fill(0);
  let steps = 1;
  while (!stepped.step(1)) steps++;
  assert.ok(steps >= 3, `a test of ≥ 3 iterations took ${steps} one-iteration steps`);
  assert.not.ok(stepped.inProgress);
  assert.ok(stepped.step(1), 'a finished test stays finished');
  assert.is(stepped.result.dPrime, expected.dPrime);
  assert.is(stepped.result.split, expected.split);
  assert.equal(Array.from(stepped.result.group), Array.from(expected.group));
});

test('group means: each group\'s mean over the vectors at begin(); returns the minority\'s size', () => {
  const split = new SplitTest(D, 100);
  const data = cloud(100, 30, 12, 7);
  split.run(data, 100, 5, 0.15);
  const mean0 = new Float64Array(D);
  const mean1 = new Float64Array(D);
  assert.is(split.groupMeans(mean0, mean1), 30);
  for (const j of [0, 17, 92]) {
    let s0 = 0;
    let s1 = 0;
    for (let i = 0; i < 100; i++) (i < 30 ? (s1 += data[i * D + j]) : (s0 += data[i * D + j]));
    assert.ok(Math.abs(mean1[j] - s1 / 30) < 1e-9, `group 1, dimension ${j}: ${mean1[j]} vs ${s1 / 30}`);
    assert.ok(Math.abs(mean0[j] - s0 / 70) < 1e-9, `group 0, dimension ${j}: ${mean0[j]} vs ${s0 / 70}`);
  }
});

test.run();
