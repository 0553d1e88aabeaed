import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bandpass } from '../../src/pipeline/bandpass.js';
import { designButterworthBandpass } from '../../src/pipeline/butterworth.js';
import { isOptoloopError } from '../../src/core/errors.js';
import { SeededRandom } from '../../src/core/random.js';
import { collectSamples, cutBlocks, floatBlock, randomSizes, sameBits } from '../helpers/blocks.js';

const FS = 30000;

/** Amplitude of the `hz` component of x[from …] by projection (an integer number of cycles). */
function amplitudeAt(x: Float32Array, channels: number, channel: number, hz: number, from: number, frames: number): number {
  let re = 0;
  let im = 0;
  for (let n = from; n < from + frames; n++) {
    const phase = (2 * Math.PI * hz * n) / FS;
    re += x[n * channels + channel] * Math.cos(phase);
    im += x[n * channels + channel] * Math.sin(phase);
  }
  return (2 / frames) * Math.hypot(re, im);
}

/** One channel per test frequency, each a 100 µV sine: the measured steady-state gain in dB. */
function measuredGainsDb(frequencies: number[], order = 3): number[] {
  const C = frequencies.length;
  const frames = 2 * FS;
  const x = new Float32Array(C * frames);
  for (let n = 0; n < frames; n++) for (let c = 0; c < C; c++) x[n * C + c] = 100 * Math.sin((2 * Math.PI * frequencies[c] * n) / FS + 0.3);
  const y = collectSamples(bandpass({ lowHz: 300, highHz: 6000, order }), cutBlocks(x, C, [30]));
  // Steady state: the second second (an integer number of cycles of every test frequency).
  return frequencies.map((hz, c) => 20 * Math.log10(amplitudeAt(y, C, c, hz, FS, FS) / 100));
}

test('300–6000 Hz, order 3: 1 kHz passes within 1 dB; 50 Hz and 12 kHz are attenuated by ≥ 20 dB (measured)', () => {
  const [g1k, g50, g12k, gLow, gHigh] = measuredGainsDb([1000, 50, 12000, 300, 6000]);
  console.log(`  measured gain: 1 kHz ${g1k.toFixed(3)} dB, 50 Hz ${g50.toFixed(1)} dB, 12 kHz ${g12k.toFixed(1)} dB, 300 Hz ${gLow.toFixed(2)} dB, 6 kHz ${gHigh.toFixed(2)} dB`);
  assert.ok(Math.abs(g1k) <= 1, `1 kHz: ${g1k} dB`);
  assert.ok(g50 <= -20, `50 Hz: ${g50} dB`);
  assert.ok(g12k <= -20, `12 kHz: ${g12k} dB`);
  // The corners are the −3 dB points.
  assert.ok(Math.abs(gLow + 3.01) < 0.05 && Math.abs(gHigh + 3.01) < 0.05, `corners: ${gLow} / ${gHigh} dB`);
});

test('order 1 is gentler than order 3, still −3 dB at the corners', () => {
  const [g50, gLow] = measuredGainsDb([50, 300], 1);
  assert.ok(g50 > -20 && g50 < -10, `order 1 at 50 Hz: ${g50} dB`);
  assert.ok(Math.abs(gLow + 3.01) < 0.05);
});

/** The same filter in float64 direct form: an independent check of the kernel's arithmetic. */
function referenceFilter(x: Float64Array, order: number): Float64Array {
  const { sections } = designButterworthBandpass(300, 6000, FS, order);
  let signal = x;
  for (const s of sections) {
    const y = new Float64Array(signal.length);
    let x1 = signal[0], x2 = signal[0], y1 = 0, y2 = 0; // at rest on the first sample's DC
    for (let n = 0; n < signal.length; n++) {
      y[n] = s.b0 * signal[n] + s.b1 * x1 + s.b2 * x2 - s.a1 * y1 - s.a2 * y2;
      x2 = x1; x1 = signal[n]; y2 = y1; y1 = y[n];
    }
    signal = y;
  }
  return signal;
}

test('matches a float64 direct-form filter to float32 rounding, from the first sample (DC offset primed away)', () => {
  const r = new SeededRandom(1);
  const frames = 6000;
  const x = new Float64Array(frames);
  for (let n = 0; n < frames; n++) x[n] = 500 + 30 * r.normal() + 80 * Math.sin(n / 7); // a 500 µV DC offset
  const want = referenceFilter(x, 3);
  const got = collectSamples(bandpass({}), cutBlocks(Float32Array.from(x), 1, [30]));
  let worst = 0;
  let rms = 0;
  for (let n = 0; n < frames; n++) {
    worst = Math.max(worst, Math.abs(got[n] - want[n]));
    rms += want[n] * want[n];
  }
  rms = Math.sqrt(rms / frames);
  assert.ok(worst < 1e-3 * rms, `largest difference ${worst} µV vs signal RMS ${rms} µV`);
  assert.ok(Math.abs(got[0]) < 1e-3, `no step at the start: first output ${got[0]} µV`);
});

test('bit-identical output for every block size from 1 to 257 samples, and for random mixes', () => {
  const C = 6; // a vector group of 4 and a scalar tail of 2
  const frames = 2600;
  const r = new SeededRandom(2);
  const x = Float32Array.from({ length: C * frames }, () => 20 * r.normal());
  const whole = collectSamples(bandpass({}), [floatBlock(x, C)]);
  for (let size = 1; size <= 257; size++) {
    assert.ok(sameBits(collectSamples(bandpass({}), cutBlocks(x, C, [size])), whole), `block size ${size}`);
  }
  for (let seed = 0; seed < 20; seed++) {
    assert.ok(sameBits(collectSamples(bandpass({}), cutBlocks(x, C, randomSizes(seed, 64))), whole), `random mix ${seed}`);
  }
  // Empty blocks in between change nothing.
  const withEmpty = cutBlocks(x, C, [30]).flatMap((b) => [b, floatBlock(new Float32Array(0), C, b.firstSampleIndex + b.frameCount)]);
  assert.ok(sameBits(collectSamples(bandpass({}), withEmpty), whole));
});

test('a channel filters the same in a vector lane as in the scalar tail (channel counts 1 … 9 and 385)', () => {
  const frames = 400;
  const r = new SeededRandom(3);
  const signal = Float32Array.from({ length: frames }, () => 20 * r.normal());
  let expected: Float32Array | null = null;
  for (const C of [1, 2, 3, 4, 5, 6, 7, 8, 9, 385]) {
    const x = new Float32Array(C * frames);
    for (let n = 0; n < frames; n++) x.fill(signal[n], n * C, (n + 1) * C);
    const y = collectSamples(bandpass({ order: 4 }), cutBlocks(x, C, [30]));
    for (let c = 0; c < C; c++) {
      const channel = Float32Array.from({ length: frames }, (_, n) => y[n * C + c]);
      if (!expected) expected = channel;
      assert.ok(sameBits(channel, expected), `${C} channels, channel ${c}`);
    }
  }
});

test('an exactly silent channel stays silent (the denormal guard leaves no visible trace)', () => {
  const y = collectSamples(bandpass({}), cutBlocks(new Float32Array(5 * 3000), 5, [30]));
  assert.ok(y.every((v) => Math.abs(v) < 1e-15));
});

test('corners at or above Nyquist are refused once the sample rate is known, naming the field', () => {
  for (const [options, field] of [[{ highHz: 15000 }, 'highHz'], [{ lowHz: 16000, highHz: 17000 }, 'lowHz']] as const) {
    let failure: unknown = null;
    collectSafe(bandpass(options), [floatBlock(new Float32Array(30), 1)], (e) => (failure = e));
    assert.ok(isOptoloopError(failure, 'E_OPTIONS_INVALID'), String(failure));
    assert.match((failure as Error).message, `bandpass.${field}: expected a number below Nyquist (15000 Hz at 30000 Hz sampling)`);
  }
  // The same options are fine at a higher sample rate.
  assert.is(collectSamples(bandpass({ highHz: 15000 }), [floatBlock(new Float32Array(30), 1, 0, 40000)]).length, 30);
});

test('options are validated when the operator is built, naming the field', () => {
  assert.throws(() => bandpass({ lowHz: 7000, highHz: 6000 }), /bandpass\.highHz: expected a number above lowHz \(7000\), got 6000/);
  assert.throws(() => bandpass({ order: 9 }), /bandpass\.order: expected an integer ≥ 1 and ≤ 8, got 9/);
  assert.throws(() => bandpass({ lowHz: -1 }), /bandpass\.lowHz: expected a positive number, got -1/);
});

function collectSafe(op: ReturnType<typeof bandpass>, inputs: ReturnType<typeof floatBlock>[], onError: (e: unknown) => void): void {
  try {
    collectSamples(op, inputs);
  } catch (error) {
    onError(error);
  }
}

test.run();
