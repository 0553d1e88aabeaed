/**
 * The manifest a new model starts from: which inputs, classes and limits, before training fills
 * in the normalisation statistics and the member files.
 */
import type { LibraryUnit } from '../library.js';
import { ACG3D_DECILES, ACG3D_WIDTH } from '../features/acg3d.js';
import { C4_WAVEFORM_SAMPLES } from '../features/c4-waveform.js';
import { MANIFEST_FORMAT, validateManifest, type ModelManifest } from '../model/manifest.js';

export type InputName = 'waveform' | 'acg3d' | 'layer';

export interface TemplateOptions {
  readonly name: string;
  readonly description?: string;
  readonly classes: readonly string[];
  readonly inputs: readonly InputName[];
  /** Waveform samples outside [from, to] ms of the peak are zeroed (null: the whole 3 ms). */
  readonly waveformWindowMs?: readonly [number, number] | null;
  /** Layer categories; the first stands for unknown. */
  readonly layers?: readonly string[];
  readonly minSpikes?: number;
  readonly maxSpikes?: number;
  readonly abstainBelowRatio?: number;
}

export function manifestTemplate(options: TemplateOptions): ModelManifest {
  const inputs: unknown[] = [];
  for (const name of options.inputs) {
    if (name === 'waveform') inputs.push({ name, feature: 'c4-waveform', shape: [C4_WAVEFORM_SAMPLES], windowMs: options.waveformWindowMs ?? null, mean: null, std: null });
    else if (name === 'acg3d') inputs.push({ name, feature: 'c4-acg3d', shape: [ACG3D_DECILES, ACG3D_WIDTH], transform: 'log1p', mean: null, std: null });
    else {
      const categories = options.layers && options.layers.length >= 2 ? options.layers : ['unknown', 'granular', 'purkinje', 'molecular'];
      inputs.push({ name, feature: 'layer-one-hot', shape: [categories.length], categories });
    }
  }
  return validateManifest(
    {
      format: MANIFEST_FORMAT,
      version: 1,
      name: options.name,
      description: options.description ?? '',
      classes: options.classes,
      inputs,
      members: ['(not trained)'],
      minSpikes: options.minSpikes ?? 100,
      maxSpikes: options.maxSpikes ?? 20000,
      abstainBelowRatio: options.abstainBelowRatio ?? 2,
      training: null,
    },
    `manifest of ${options.name}`,
  );
}

/** The library's labels, most frequent first (ties by name), with their unit counts. */
export function labelCounts(units: readonly LibraryUnit[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const u of units) counts.set(u.label, (counts.get(u.label) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** 'unknown' then the library's layers in alphabetical order (lower case). */
export function layerCategories(units: readonly LibraryUnit[]): string[] {
  const layers = new Set<string>();
  for (const u of units) if (u.layer) layers.add(u.layer.trim().toLowerCase());
  layers.delete('unknown');
  return ['unknown', ...[...layers].sort()];
}
