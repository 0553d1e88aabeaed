// The simulator's noise drawn ahead on a worker (sim/noise-thread.ts): the samples are those drawn
// in place, across ring wraps, chunk splits at light pulses and the worker's refills; a closed
// thread refuses to draw, and a stalled one makes take() throw instead of hanging.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSimulation } from '../../sim/simulation.js';
import { NoiseThread, type NoiseThreadSettings } from '../../sim/noise-thread.js';
import { wasmModule } from '../../src/wasm/kernel.js';
import { zigF, zigX, zigXScaled } from '../../sim/rng.js';

const OPTIONS = { preset: 'cortex', channels: 64, units: 12, seed: 11 } as const;

/**
 * 400 blocks of 1 … 97 frames with a light pulse every 40 ms (the generator splits its chunks at
 * pulses), the noise handed to a thread before block `threadFrom` (never when null).
 */
async function generateBlocks(threadFrom: number | null, settings: NoiseThreadSettings = {}): Promise<{ samples: Int16Array; thread: NoiseThread | null; sim: ReturnType<typeof createSimulation> }> {
  const sim = createSimulation(OPTIONS);
  const C = sim.generator.channelCount;
  const rate = sim.options.sampleRateHz;
  for (let p = 1; p < 12; p++) sim.generator.addPulse({ onsetSample: Math.round(p * 0.04 * rate), offsetSample: Math.round(p * 0.04 * rate) + 150, level: 1, output: 0, requestId: -1, reason: 'test' });
  const sizes = Array.from({ length: 400 }, (_, b) => 1 + ((b * 37) % 97));
  const samples = new Int16Array(sizes.reduce((a, b) => a + b, 0) * C);
  const block = new Int16Array(97 * C);
  let thread: NoiseThread | null = null;
  let at = 0;
  for (let b = 0; b < sizes.length; b++) {
    if (b === threadFrom) thread = await sim.generator.startNoiseThread(settings);
    sim.generator.generate(block, sizes[b]);
    samples.set(block.subarray(0, sizes[b] * C), at);
    at += sizes[b] * C;
  }
  return { samples, thread, sim };
}

test('the noise thread gives the samples drawn in place, across ring wraps, refills and the counters\' 32-bit wrap', async () => {
  const inPlace = await generateBlocks(null);
  // Ten blocks in place first: the thread continues the stream from wherever it stands. Then a
  // small ring whose frame counters start 5 000 frames before they wrap (after ~20 h at 30 kHz).
  for (const settings of [{}, { ringFrames: 1024, chunkFrames: 128, counterStart: 2 ** 31 - 5000 }] as NoiseThreadSettings[]) {
    const threaded = await generateBlocks(10, settings);
    const thread = threaded.thread!;
    const C = threaded.sim.generator.channelCount;
    // ~19 600 frames: the ring wrapped several times.
    assert.ok(threaded.samples.length / C > 4 * thread.ringFrames, `${threaded.samples.length / C} frames`);
    let firstDiff = -1;
    for (let i = 0; i < inPlace.samples.length && firstDiff < 0; i++) if (inPlace.samples[i] !== threaded.samples[i]) firstDiff = i;
    assert.is(firstDiff, -1, `${JSON.stringify(settings)}: samples differ from index ${firstDiff}`);
    // (Generated as fast as possible, it outruns the worker at times: waits do not change the samples.)
    await threaded.sim.generator.closeNoiseThread();
    try {
      threaded.sim.generator.generate(new Int16Array(30 * C), 30);
      assert.unreachable('a generator whose noise thread closed must not draw');
    } catch (error) {
      assert.match((error as Error).message, /noise thread was closed/);
    }
  }
});

test('take() waits for a worker that is behind, and counts the wait', async () => {
  const C = 8;
  const sigma = new Float32Array(C).fill(5);
  const tables = new Float64Array([...zigX, ...zigXScaled, ...zigF]);
  const thread = await NoiseThread.start({ module: wasmModule('sim_kernels'), channelCount: C, sigmaUv: sigma, tables, state: new Uint32Array([1, 2, 3, 4]), ringFrames: 64, chunkFrames: 16 });
  const dest = new Float32Array(64 * C);
  let sumSquares = 0;
  let n = 0;
  // Taking 48 frames at a time from a 64-frame ring outruns the worker's refills at half a ring.
  for (let k = 0; k < 200; k++) {
    thread.take(dest, 48);
    for (let i = 0; i < 48 * C; i++) sumSquares += dest[i] * dest[i];
    n += 48 * C;
  }
  assert.ok(thread.counters.waits > 0, 'expected waits');
  // It is noise of σ = 5 µV, not zeros or a repeated chunk.
  const sd = Math.sqrt(sumSquares / n);
  assert.ok(Math.abs(sd - 5) < 0.1, `σ ${sd}`);
  await thread.close();
  assert.throws(() => thread.take(dest, 1), /after close/);
});

test('a worker that cannot draw fails start() with its reason', async () => {
  const C = 4;
  // An empty module: it instantiates, but has no fillGaussian.
  const bad = new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
  try {
    await NoiseThread.start({ module: bad, channelCount: C, sigmaUv: new Float32Array(C), tables: new Float64Array(386), state: new Uint32Array(4), ringFrames: 64, chunkFrames: 16, stallTimeoutMs: 200 });
    assert.unreachable('a worker without fillGaussian must fail to start');
  } catch (error) {
    assert.match((error as Error).message, /noise thread: its worker failed to start: the kernel module exports no memory and fillGaussian/);
  }
});

test.run();
