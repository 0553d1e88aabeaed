/**
 * A classifier model on disk: a folder with `manifest.json` (what the model predicts and from
 * which inputs) and one TensorFlow.js layers model per ensemble member (`model.json` +
 * `weights.bin`, the standard tfjs layers format, loadable by any TensorFlow.js).
 *
 *   { "format": "optoloop-classifier", "version": 1, "name": "cerebellum",
 *     "classes": ["PkC_ss", "PkC_cs", "MLI", "GoC", "MFB"],
 *     "inputs": [ { "name": "waveform", "feature": "c4-waveform", "shape": [90], "windowMs": null },
 *                 { "name": "acg3d", "feature": "c4-acg3d", "shape": [10, 101], "transform": "log1p",
 *                   "mean": [...1010], "std": [...1010] },
 *                 { "name": "layer", "feature": "layer-one-hot", "shape": [4],
 *                   "categories": ["unknown", "granular", "purkinje", "molecular"] } ],
 *     "members": ["member-0/model.json", …], "minSpikes": 100, "maxSpikes": 20000,
 *     "abstainBelowRatio": 2, "training": { … } }
 *
 * Inputs are fed to each member in the manifest's order. Every problem is an E_MODEL_INVALID
 * naming the file and the field (`manifest.json: inputs[1].mean: expected an array of 1010, …`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as s from '../../config/schema.js';
import { OptoloopError } from '../../core/errors.js';
import { ACG3D_DECILES, ACG3D_WIDTH } from '../features/acg3d.js';
import { C4_WAVEFORM_SAMPLES } from '../features/c4-waveform.js';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'optoloop-classifier';

const normalisation = {
  mean: s.nullable(s.array(s.number()), { description: 'Subtracted per value after the transform (z-score); null for none.' }),
  std: s.nullable(s.array(s.number({ above: 0 })), { description: 'Divided per value after subtracting the mean; null for none.' }),
};

/** Any JSON value, null when absent: the free-form training record. */
function anyJson(description: string): s.Schema<unknown> {
  return { hasDefault: true, defaultValue: null, parse: (v) => (v === undefined ? null : v), jsonSchema: () => ({ description }) };
}

export const waveformInputSchema = s.object({
  name: s.string({ minLength: 1 }),
  feature: s.literal('c4-waveform'),
  shape: s.array(s.number({ integer: true }), { minItems: 1, maxItems: 1, description: `[${C4_WAVEFORM_SAMPLES}]` }),
  windowMs: s.nullable(s.array(s.number(), { minItems: 2, maxItems: 2 }), {
    description: 'Keep only [from, to] ms around the peak, zeros elsewhere (for training sets whose waveforms are shorter than C4’s 3 ms).',
  }),
  ...normalisation,
});

export const acg3dInputSchema = s.object({
  name: s.string({ minLength: 1 }),
  feature: s.literal('c4-acg3d'),
  shape: s.array(s.number({ integer: true }), { minItems: 2, maxItems: 2, description: `[${ACG3D_DECILES}, ${ACG3D_WIDTH}]` }),
  transform: s.oneOf(['none', 'log1p'] as const, { default: 'none', description: 'Applied to each value before the normalisation.' }),
  ...normalisation,
});

export const layerInputSchema = s.object({
  name: s.string({ minLength: 1 }),
  feature: s.literal('layer-one-hot'),
  shape: s.array(s.number({ integer: true }), { minItems: 1, maxItems: 1 }),
  categories: s.array(s.string({ minLength: 1 }), { minItems: 2, description: 'The first is taken for an unknown or missing layer.' }),
});

export const modelInputSchema = s.tagged('feature', { 'c4-waveform': waveformInputSchema, 'c4-acg3d': acg3dInputSchema, 'layer-one-hot': layerInputSchema });

export const manifestSchema = s.object(
  {
    format: s.literal(MANIFEST_FORMAT),
    version: s.number({ integer: true, min: 1, max: 1 }),
    name: s.string({ minLength: 1 }),
    description: s.string({ default: '' }),
    classes: s.array(s.string({ minLength: 1 }), { minItems: 2 }),
    inputs: s.array(modelInputSchema, { minItems: 1 }),
    members: s.array(s.string({ minLength: 1 }), { minItems: 1, description: 'model.json of each ensemble member, relative to the manifest; probabilities are averaged.' }),
    minSpikes: s.number({ integer: true, min: 2, default: 100, description: 'Spikes a unit needs before the model is asked.' }),
    maxSpikes: s.number({ integer: true, min: 100, default: 20000, description: 'The 3D-ACG uses at most the unit’s most recent this many spikes (as in training).' }),
    abstainBelowRatio: s.number({ min: 1, default: 2, description: 'Suggested confidence ratio (top / second) below which to abstain.' }),
    training: anyJson('What the model was trained on and how well it did (free form, for people).'),
  },
  {
    refine: (m, path, issues) => {
      const at = (k: string) => (path ? `${path}.${k}` : k);
      const seen = new Set<string>();
      m.classes.forEach((c, i) => {
        if (seen.has(c)) issues.push({ path: at(`classes[${i}]`), message: `expected unique class names, got "${c}" twice` });
        seen.add(c);
      });
      const names = new Set<string>();
      m.inputs.forEach((input, i) => {
        const p = (k: string) => at(`inputs[${i}].${k}`);
        if (names.has(input.name)) issues.push({ path: p('name'), message: `expected unique input names, got "${input.name}" twice` });
        names.add(input.name);
        let expected: number[];
        if (input.feature === 'c4-waveform') expected = [C4_WAVEFORM_SAMPLES];
        else if (input.feature === 'c4-acg3d') expected = [ACG3D_DECILES, ACG3D_WIDTH];
        else expected = [input.categories.length];
        if (input.shape.join() !== expected.join()) issues.push({ path: p('shape'), message: `expected [${expected.join(', ')}] for ${input.feature}, got [${input.shape.join(', ')}]` });
        if (input.feature !== 'layer-one-hot') {
          const size = expected.reduce((a, b) => a * b, 1);
          for (const key of ['mean', 'std'] as const) {
            const v = input[key];
            if (v && v.length !== size) issues.push({ path: p(key), message: `expected an array of ${size} (one per value of ${input.feature}), got an array of ${v.length}` });
          }
          if ((input.mean === null) !== (input.std === null)) issues.push({ path: p(input.mean === null ? 'mean' : 'std'), message: 'expected mean and std together (both arrays or both null)' });
        }
        if (input.feature === 'c4-waveform' && input.windowMs && !(input.windowMs[0] < input.windowMs[1])) {
          issues.push({ path: p('windowMs'), message: `expected [from, to] with from < to, got [${input.windowMs.join(', ')}]` });
        }
      });
    },
  },
);


export type ModelManifest = s.Infer<typeof manifestSchema>;
export type ModelInput = ModelManifest['inputs'][number];

function invalid(message: string, details: Record<string, unknown>): OptoloopError {
  return new OptoloopError('E_MODEL_INVALID', message, { stage: 'classify.model', details });
}

/** Validates a parsed manifest; `source` names it in errors. */
export function validateManifest(document: unknown, source: string): ModelManifest {
  const r = s.validate(manifestSchema, document);
  if (!r.ok) {
    const shown = r.issues.slice(0, 10).map((i) => `${i.path}: ${i.message}`);
    throw invalid(`${source}: not a valid classifier manifest: ${shown.join('; ')}${r.issues.length > 10 ? ` … and ${r.issues.length - 10} more` : ''}`, {
      file: source,
      field: r.issues[0]?.path,
      issues: r.issues,
    });
  }
  return r.value;
}

/** Reads and validates `<dir>/manifest.json` and checks that every member file is there. */
export function readManifest(dir: string): ModelManifest {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw invalid(`${path}: cannot read the model manifest (${(cause as Error).message}); expected a model folder with ${MANIFEST_FILE}`, { file: path });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (cause) {
    throw invalid(`${path}: not JSON (${(cause as Error).message})`, { file: path });
  }
  const manifest = validateManifest(document, path);
  manifest.members.forEach((member, i) => {
    if (!existsSync(join(dir, member))) throw invalid(`${path}: members[${i}]: expected a model.json at ${join(dir, member)}, found none`, { file: path, field: `members[${i}]` });
  });
  return manifest;
}
