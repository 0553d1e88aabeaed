/**
 * A unit's features turned into a model's input vectors, exactly as its manifest says: the one
 * function both training (`optoloop train`) and live inference (the classifier worker) call, so
 * that a model never sees numbers computed differently from the ones it learnt on.
 */
import { ACG3D_SIZE, acg3d } from '../features/acg3d.js';
import { C4_WAVEFORM_PEAK_INDEX, C4_WAVEFORM_RATE_HZ, C4_WAVEFORM_SAMPLES, c4Waveform } from '../features/c4-waveform.js';
import type { ModelInput, ModelManifest } from './manifest.js';

/** What a model needs to know about one unit. */
export interface UnitFeatureSource {
  /** Mean peak-channel waveform, µV. */
  readonly waveformUv: ArrayLike<number>;
  readonly waveformSampleRateHz: number;
  /** Spike times (s), ascending. Only the most recent `manifest.maxSpikes` are used. */
  readonly spikeTimesS: ArrayLike<number>;
  /** Layer name (C4: granular / Purkinje / molecular), or null when unknown. */
  readonly layer: string | null;
}

/** Values per input, in manifest order. */
export function inputSizes(manifest: ModelManifest): number[] {
  return manifest.inputs.map((input) => input.shape.reduce((a, b) => a * b, 1));
}

/** Allocates one Float32Array per input for `batch` units (unit-major). */
export function allocateInputs(manifest: ModelManifest, batch: number): Float32Array[] {
  return inputSizes(manifest).map((size) => new Float32Array(size * batch));
}

function normalise(input: { mean: number[] | null; std: number[] | null }, values: Float32Array): void {
  if (!input.mean || !input.std) return;
  for (let i = 0; i < values.length; i++) values[i] = (values[i] - input.mean[i]) / input.std[i];
}

/** The raw feature of one input for one unit, before the manifest's transform and normalisation. */
export function rawFeature(input: ModelInput, unit: UnitFeatureSource, maxSpikes: number, out: Float32Array): void {
  if (input.feature === 'c4-waveform') {
    c4Waveform(unit.waveformUv, unit.waveformSampleRateHz, out);
    if (input.windowMs) {
      const [fromMs, toMs] = input.windowMs;
      for (let j = 0; j < C4_WAVEFORM_SAMPLES; j++) {
        const tMs = ((j - C4_WAVEFORM_PEAK_INDEX) * 1000) / C4_WAVEFORM_RATE_HZ;
        if (tMs < fromMs - 1e-9 || tMs > toMs + 1e-9) out[j] = 0;
      }
    }
  } else if (input.feature === 'c4-acg3d') {
    const n = unit.spikeTimesS.length;
    const from = Math.max(0, n - maxSpikes);
    const times = from === 0 ? unit.spikeTimesS : Array.prototype.slice.call(unit.spikeTimesS, from);
    acg3d(times as ArrayLike<number>, n - from, out);
  } else {
    out.fill(0);
    const layer = unit.layer?.trim().toLowerCase() ?? '';
    const index = input.categories.findIndex((c) => c.toLowerCase() === layer);
    out[index >= 0 ? index : 0] = 1;
  }
}

/**
 * Writes unit `index` of a batch into `inputs` (from {@link allocateInputs}): the raw features,
 * then each input's transform and normalisation.
 */
export function writeUnitInputs(manifest: ModelManifest, unit: UnitFeatureSource, inputs: Float32Array[], index = 0): void {
  manifest.inputs.forEach((input, k) => {
    const size = input.shape.reduce((a, b) => a * b, 1);
    const view = inputs[k].subarray(index * size, (index + 1) * size);
    rawFeature(input, unit, manifest.maxSpikes, view);
    if (input.feature === 'c4-acg3d' && input.transform === 'log1p') for (let i = 0; i < view.length; i++) view[i] = Math.log1p(Math.max(0, view[i]));
    if (input.feature !== 'layer-one-hot') normalise(input, view);
  });
}

export { ACG3D_SIZE };
