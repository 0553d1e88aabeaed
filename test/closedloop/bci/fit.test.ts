import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BciOutput } from '../../../src/closedloop/bci/bci-output.js';
import { validateDecoder, type LinearDecoderFile } from '../../../src/closedloop/bci/decoder-format.js';
import { binData, decodeBins, fitDecoder, fitLinear, interpolate, rSquared, type BinnedData } from '../../../src/closedloop/bci/fit.js';
import { cholesky, choleskySolve, invertSpd } from '../../../src/closedloop/bci/matrix.js';
import { SeededRandom } from '../../../src/closedloop/prng.js';
import { isOptoloopError } from '../../../src/core/errors.js';
import { allocateSpikeBatch } from '../../../src/core/spikes.js';
import { makeBciWorld } from '../../helpers/bci-world.js';

test('matrix: Cholesky solve and SPD inverse, worked by hand', () => {
  // A = [[4, 2], [2, 3]]: L = [[2, 0], [1, √2]]; A⁻¹ = 1/8 · [[3, −2], [−2, 4]].
  const a = Float64Array.from([4, 2, 2, 3]);
  const inv = new Float64Array(4);
  assert.is(invertSpd(a, 2, inv), 0);
  assert.equal(Array.from(inv).map((v) => Math.round(v * 1e12) / 1e12), [0.375, -0.25, -0.25, 0.5]);
  const l = Float64Array.from(a);
  assert.ok(cholesky(l, 2));
  assert.ok(Math.abs(l[3] - Math.SQRT2) < 1e-12 && l[2] === 1 && l[0] === 2);
  // A x = [8, 7] → x = A⁻¹ b = [(24 − 14)/8, (−16 + 28)/8] = [1.25, 1.5].
  const b = choleskySolve(l, 2, Float64Array.from([8, 7]), 1);
  assert.ok(Math.abs(b[0] - 1.25) < 1e-12 && Math.abs(b[1] - 1.5) < 1e-12);
  // A singular matrix gets the smallest ridge that makes it invertible, and says so.
  assert.ok(invertSpd(Float64Array.from([1, 1, 1, 1]), 2, new Float64Array(4)) > 0);
});

test('interpolation at bin centres; NaN outside the samples', () => {
  const t = Float64Array.from([0, 1, 3]);
  const v = Float64Array.from([0, 10, 30]);
  assert.is(interpolate(t, v, 0.5), 5);
  assert.is(interpolate(t, v, 2), 20);
  assert.ok(Number.isNaN(interpolate(t, v, 3.5)));
});

test('ridge with a negligible ridge recovers an exact lagged linear map', () => {
  // y(t) = 2 r1(t) − 1 r2(t) + 0.5 r1(t−1) + 3 r2(t−1) + 7, rates drawn at random.
  const rand = new SeededRandom(5);
  const bins = 400;
  const rates = new Float64Array(bins * 2);
  for (let i = 0; i < rates.length; i++) rates[i] = rand.uniform(0, 50);
  const behaviour = new Float64Array(bins);
  for (let b = 0; b < bins; b++) {
    const prev = b > 0 ? [rates[(b - 1) * 2], rates[(b - 1) * 2 + 1]] : [0, 0];
    behaviour[b] = 2 * rates[b * 2] - rates[b * 2 + 1] + 0.5 * prev[0] + 3 * prev[1] + 7;
  }
  const data: BinnedData = { binMs: 20, startS: 0, bins, unitIds: [1, 2], outputs: ['y'], ratesHz: rates, behaviour };
  const { weights, bias } = fitLinear(data, bins, 2, 1e-12);
  const expected = [2, -1, 0.5, 3];
  weights[0].forEach((w, i) => assert.ok(Math.abs(w - expected[i]) < 1e-6, `w[${i}] = ${w}`));
  assert.ok(Math.abs(bias[0] - 7) < 1e-5);
  // The online decoder reproduces the map exactly on the data.
  const decoder = fitDecoder(data, { kind: 'linear', lags: 2, ridge: 1e-12, testFraction: 0.25, source: 'test' });
  const predicted = decodeBins(decoder, data);
  for (let b = 0; b < bins; b++) assert.ok(Math.abs(predicted[b] - behaviour[b]) < 1e-5, `bin ${b}`);
  assert.ok(decoder.fit!.testR2[0]! > 0.999999);
});

test('linear and Kalman decoders on cosine-tuned units: held-out R², and the fitted dynamics', () => {
  const world = makeBciWorld(17, 240, 40);
  const data = binData(world.unitIds, world.spikesS, world.behaviourTimesS, [world.columns.x, world.columns.y, world.columns.vx, world.columns.vy], ['x', 'y', 'vx', 'vy'], 20);
  const linear = fitDecoder(data, { kind: 'linear', lags: 5, ridge: 0.01, testFraction: 0.2, source: 'test' });
  const kalman = fitDecoder(data, { kind: 'kalman', lags: 1, ridge: 0, testFraction: 0.2, source: 'test' });
  const fmt = (r: (number | null)[]) => r.map((v) => v!.toFixed(3)).join(' / ');
  console.log(`held-out R² x / y / vx / vy: linear (5 lags) ${fmt(linear.fit!.testR2)}; Kalman ${fmt(kalman.fit!.testR2)}`);
  // Velocity is what the units encode: both decode it well.
  assert.ok(linear.fit!.testR2[2]! > 0.7 && linear.fit!.testR2[3]! > 0.7);
  assert.ok(kalman.fit!.testR2[2]! > 0.7 && kalman.fit!.testR2[3]! > 0.7);
  // The Kalman state integrates velocity into position through its fitted dynamics.
  if (kalman.kind !== 'kalman') throw new Error('kind');
  // Over a 20 ms bin the velocity pole is 0.997^20 = 0.9417; position carries over with 1.
  assert.ok(Math.abs(kalman.A[2][2] - world.velocityPole ** 20) < 0.03, `A_vx,vx = ${kalman.A[2][2]}`);
  assert.ok(Math.abs(kalman.A[0][0] - 1) < 0.02, `A_x,x = ${kalman.A[0][0]}`);
  // x(t+1) − x(t) ≈ 20 ms × v: A_x,vx ≈ 0.02.
  assert.ok(Math.abs(kalman.A[0][2] - 0.02) < 0.005, `A_x,vx = ${kalman.A[0][2]}`);
});

test('the online BCI output, fed spike batches block by block, equals the offline decode', () => {
  const world = makeBciWorld(3, 60, 12);
  const data = binData(world.unitIds, world.spikesS, world.behaviourTimesS, [world.columns.vx, world.columns.vy], ['vx', 'vy'], 20);
  const decoder = fitDecoder(data, { kind: 'kalman', lags: 1, ridge: 0, testFraction: 0.2, source: 'test' });
  // The online path bins on the sample clock from sample 0: give it data binned from t = 0.
  const fromZero = { ...data, startS: 0 };
  const offline = decodeBins(decoder, { ...fromZero, ratesHz: binDataFromZero(world, data.bins) });
  const fs = 30_000;
  const events: [number, number][] = [];
  world.spikesS.forEach((times, i) => times.forEach((t) => events.push([Math.floor(t * fs), world.unitIds[i]])));
  events.sort((a, b) => a[0] - b[0]);
  const outputs: number[][] = [];
  const bci = new BciOutput(decoder, (s) => outputs.push([s.bin, ...s.values]), 1);
  const batch = allocateSpikeBatch('s', fs, 4096);
  let e = 0;
  for (let block = 0; block * 30 < data.bins * 600; block++) {
    const end = (block + 1) * 30;
    batch.count = 0;
    while (e < events.length && events[e][0] < end) {
      batch.peakSampleIndex[batch.count] = events[e][0];
      batch.unitId[batch.count] = events[e][1];
      batch.count++;
      e++;
    }
    bci.onSpikes(batch);
    bci.advance(end, fs, 0);
  }
  assert.ok(outputs.length >= data.bins - 1);
  assert.is(bci.lateSpikes, 0);
  for (const [bin, vx, vy] of outputs.slice(0, data.bins)) {
    assert.ok(Math.abs(vx - offline[bin * 2]) < 1e-9 && Math.abs(vy - offline[bin * 2 + 1]) < 1e-9, `bin ${bin}`);
  }
});

function binDataFromZero(world: ReturnType<typeof makeBciWorld>, bins: number): Float64Array {
  const n = world.unitIds.length;
  const rates = new Float64Array(bins * n);
  world.spikesS.forEach((times, u) => {
    for (const t of times) {
      const b = Math.floor(Math.floor(t * 30_000) / 600);
      if (b < bins) rates[b * n + u] += 50;
    }
  });
  return rates;
}

test('decoder files: dimensions are checked against units and outputs', () => {
  const good: LinearDecoderFile = {
    format: 'optoloop-decoder',
    version: 1,
    kind: 'linear',
    binMs: 20,
    unitIds: [1, 2],
    outputs: ['vx'],
    lags: 2,
    weights: [[1, 2, 3, 4]],
    bias: [0],
    ridgeLambda: 0,
    fit: null,
  };
  assert.is(validateDecoder(good, 'd.json').kind, 'linear');
  for (const [bad, message] of [
    [{ ...good, weights: [[1, 2, 3]] }, 'weights[0]: expected 4 columns, got 3'],
    [{ ...good, bias: [0, 1] }, 'bias: expected 1 values (one per output), got 2'],
    [{ ...good, unitIds: [1, 1] }, 'unitIds: expected each unit once'],
    [{ ...good, kind: 'svm' }, 'kind: expected one of "linear", "kalman"'],
    [{ ...good, version: 2 }, 'version: expected one of 1'],
  ] as [unknown, string][]) {
    try {
      validateDecoder(bad, 'd.json');
      assert.unreachable(message);
    } catch (error) {
      assert.ok(isOptoloopError(error, 'E_FILE_MALFORMED'));
      assert.match((error as Error).message, message);
    }
  }
});

test('R² by hand', () => {
  // y = [1, 2, 3], ŷ = [1, 2, 4]: SSE = 1, SST = 2 → R² = 0.5.
  assert.equal(rSquared(Float64Array.from([1, 2, 3]), Float64Array.from([1, 2, 4]), 1, 0, 3), [0.5]);
});

test.run();
