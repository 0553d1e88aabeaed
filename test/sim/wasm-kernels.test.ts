// The thermal noise runs in sim_kernels.wasm, which continues a TypeScript generator's stream
// (sim/rng.ts, on the project's xoshiro128** in src/core/random.ts) with the same algorithm in
// AssemblyScript. The two are a deliberate pair: this holds them in step, draw for draw, so that
// a change to one that the other does not follow fails here rather than as a silent change of
// the simulator's bytes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../../sim/rng.js';
import { SimKernels } from '../../sim/wasm-kernels.js';

const CHANNELS = 7;
const FRAMES = 4000;

function kernels(noise: Rng, sigma: Float32Array): SimKernels {
  return new SimKernels({
    channelCount: CHANNELS,
    capacityFrames: FRAMES,
    noiseSigmaUv: sigma,
    noise,
    denseTemplates: [],
    activeCapacity: 1,
    gainsPerSpike: 1,
  });
}

test('fillNoise draws the same Gaussians as the TypeScript generator it continues, block after block', () => {
  const sigma = Float32Array.from({ length: CHANNELS }, (_, c) => 1 + c * 0.75);
  const wasm = kernels(new Rng(11, 'noise'), sigma);
  const ts = new Rng(11, 'noise');
  const expected = new Float32Array(FRAMES * CHANNELS);
  // 28 000 draws reach the ziggurat's rare branches (tail and wedges) many times over.
  for (const frames of [FRAMES, 1, 333]) {
    wasm.fillNoise(frames);
    ts.fillGaussianScaled(expected, 0, frames * CHANNELS, sigma, CHANNELS);
    for (let k = 0; k < frames * CHANNELS; k++) {
      if (wasm.acc[k] !== expected[k]) assert.unreachable(`${frames}-frame block, sample ${k}: wasm ${wasm.acc[k]}, TypeScript ${expected[k]}`);
    }
  }
});

test('the stream starts where the generator stood when the kernels were built', () => {
  const sigma = new Float32Array(CHANNELS).fill(1);
  const used = new Rng(5, 'noise');
  used.nextU32();
  const a = kernels(used, sigma);
  const b = kernels(new Rng(5, 'noise'), sigma);
  a.fillNoise(1);
  b.fillNoise(1);
  assert.not.equal(Array.from(a.acc.subarray(0, CHANNELS)), Array.from(b.acc.subarray(0, CHANNELS)));
});

test.run();
