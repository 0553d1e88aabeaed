// SplitTest: two groups along a direction the vectors do not share with the noise are found and cut
// apart exactly; one Gaussian cloud is not split; repeated runs give the same answer (the early
// stop of the power iteration is deterministic).
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

test.run();
