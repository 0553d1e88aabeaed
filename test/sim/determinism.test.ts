// The same seed and parameters give the same bytes, whatever the block size (light pulses
// included); different seeds give different bytes.
import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SimOptionsInput } from '../../sim/options.js';
import { createSimulation } from '../../sim/simulation.js';

const FRAMES = 30000 * 3;
const OPTIONS: SimOptionsInput = { preset: 'cerebellum', channels: 64, units: 24, lineNoiseHz: 50, driftUm: 5 };

function hashRun(options: SimOptionsInput, blockFrames: number, withLight = true): string {
  const sim = createSimulation(options);
  if (withLight) {
    for (let k = 0; k < 10; k++) {
      const onset = 3000 + k * 8111;
      sim.generator.addPulse({ onsetSample: onset, offsetSample: onset + 300 * (1 + (k % 3)), level: 1, output: 0, requestId: -1, reason: 'test' });
    }
  }
  const hash = createHash('sha256');
  const out = new Int16Array(blockFrames * sim.generator.channelCount);
  let done = 0;
  while (done < FRAMES) {
    const n = Math.min(blockFrames, FRAMES - done);
    sim.generator.generate(out, n);
    hash.update(new Uint8Array(out.buffer, 0, n * sim.generator.channelCount * 2));
    done += n;
  }
  const gt = sim.generator.groundTruth;
  hash.update(new Uint8Array(gt.spikeSample.buffer, 0, gt.spikeCount * 8));
  return hash.digest('hex');
}

test('two runs with the same seed give the same bytes', () => {
  assert.is(hashRun({ ...OPTIONS, seed: 7 }, 30), hashRun({ ...OPTIONS, seed: 7 }, 30));
});

test('block sizes 30, 7, 1000 and 4096 frames give the same bytes', () => {
  const reference = hashRun({ ...OPTIONS, seed: 7 }, 30);
  for (const block of [7, 1000, 4096]) assert.is(hashRun({ ...OPTIONS, seed: 7 }, block), reference, `block ${block}`);
});

test('different seeds give different bytes', () => {
  assert.is.not(hashRun({ ...OPTIONS, seed: 7 }, 30), hashRun({ ...OPTIONS, seed: 8 }, 30));
});

test('light changes the bytes (the pulses do something) and only through the opsin units and artefacts', () => {
  assert.is.not(hashRun({ ...OPTIONS, seed: 7 }, 30, true), hashRun({ ...OPTIONS, seed: 7 }, 30, false));
  // Without opsin and without artefacts, light has no effect at all.
  const dark = { ...OPTIONS, seed: 7, opsin: [], artefactUv: 0 };
  assert.is(hashRun(dark, 30, true), hashRun(dark, 30, false));
});

test.run();
