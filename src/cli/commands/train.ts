import { resolve } from 'node:path';
import { readLibrary } from '../../classify/library.js';
import { loadTf, type BackendPreference } from '../../classify/model/tf-backend.js';
import { DEFAULT_VIEW_SPIKE_COUNTS, usableUnits } from '../../classify/train/examples.js';
import { labelCounts, layerCategories, manifestTemplate, type InputName } from '../../classify/train/manifest-template.js';
import { formatConfusion, percent, type Evaluation } from '../../classify/train/metrics.js';
import { crossValidate, trainFinal, type TrainSettings } from '../../classify/train/trainer.js';
import { parseCommandArgs, usageError, type CliIo, type Command } from '../command.js';

const HELP = `Usage: optoloop train --library FILE --out DIR [options]

Trains a cell-type classifier from a labelled unit library (the JSON format of
src/classify/library.ts: { "units": [ { "id", "label", "waveformUv", "waveformSampleRateHz",
"spikeTimesS", … } ] }), reports its stratified k-fold cross-validated accuracy, then trains the
final model on every unit and writes it to DIR: manifest.json (classes, inputs, normalisation,
the cross-validation figures) and one TensorFlow.js layers model per ensemble member
(member-N/model.json + weights.bin). Load it with optoloop classify --model DIR, or name it in the
rig config's classifier.model.

Inputs (per unit, as C4 computes them; ../shared/docs/science.md §1):
  waveform   the mean peak-channel waveform, resampled to 30 kHz, 90 samples, first peak > 0.75·max
             flipped negative at index 30, median baseline of the first 30 samples, peak −1.
  acg3d      the 3D autocorrelogram: 10 firing-rate deciles × (centre + 100 log lags, 1…1000 ms),
             from the unit's most recent --max-spikes spikes; log1p, then z-scored per value.
  layer      a one-hot of the unit's layer (the library's layer field), 'unknown' when absent.
Each unit is also seen through windows of 100, 200, 400 … spikes (--views), so the model learns the
noisy 3D-ACGs of the first classifications of a live unit. Views of a unit stay in its fold.

Model: per input an MLP encoder (90 → 32 → 16; 1010 → 32 → 16), concatenated, batch norm, 32,
softmax; an ensemble of --members such networks with averaged probabilities. Training is seeded:
the same library, options and backend give the same weights.

Report: accuracy per fold and overall, the confusion matrix (rows: true class), accuracy on the
units whose confidence ratio (top / second probability) reaches --abstain with the fraction of
units labelled, and the accuracy of held-out windows by spike count.

Options:
  --library FILE          The labelled unit library (required).
  --out DIR               Where to write the model (required unless --cv-only).
  --folds N               Cross-validation folds (default 5; 0 or 1 skips cross-validation).
  --cv-only               Cross-validate only; write nothing.
  --seed N                Seed of everything random (default 1).
  --epochs N              Passes over the training views per member (default 40).
  --members N             Ensemble size (default 5).
  --batch-size N          Mini-batch size (default 64).
  --learning-rate X       Adam learning rate (default 0.001).
  --min-steps N           At least this many optimiser steps per member: a small library gets more
                          epochs than --epochs (default 1000).
  --classes A,B,…         The classes, in output order (default: every label of the library, most
                          frequent first). Units with other labels are left out.
  --min-class-units N     Leave out labels with fewer units than this (default 2), when --classes
                          is not given.
  --inputs LIST           Comma-separated subset of waveform,acg3d,layer (default waveform,acg3d,
                          plus layer when some unit has one).
  --waveform-window=A:B   Zero the waveform outside A…B ms of the peak (e.g. =-0.6:0.75 when some
                          training waveforms are shorter than C4's −1…+2 ms, so the window length
                          cannot tell the classes apart).
  --min-spikes N          Units with fewer spikes are not used when acg3d is an input (default 100);
                          also the live minimum before the first classification.
  --max-spikes N          Spikes the 3D-ACG uses at most, the most recent (default 20000).
  --views LIST            Spike counts of the training windows (default ${DEFAULT_VIEW_SPIKE_COUNTS.join(',')}).
  --abstain X             Confidence ratio below which the model abstains (default 2, as C4).
  --name NAME             Model name (default: the --out folder's name).
  --description TEXT      One line about the model, kept in the manifest.
  --backend B             auto (default: tfjs-node-gpu if installed, else wasm, else cpu), wasm, cpu.
  --quiet                 Only the summary, not every member's loss.
  -h, --help              Show this help.

Exit status: 0 trained, 1 failure, 2 wrong usage.`;

function parseIntFlag(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw usageError('train', `--${name}: expected an integer ≥ ${min}, got ${JSON.stringify(text)}`);
  return n;
}

function parseNumberFlag(name: string, text: string | undefined, fallback: number, above: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || !(n > above)) throw usageError('train', `--${name}: expected a number above ${above}, got ${JSON.stringify(text)}`);
  return n;
}

export function formatEvaluation(e: Evaluation, classes: readonly string[]): string {
  return (
    `accuracy ${percent(e.accuracy)} (${e.correct}/${e.units} units)\n` +
    `${formatConfusion(e.confusion, classes)}\n` +
    `at confidence ratio ≥ ${e.threshold}: ${percent(e.labelledFraction)} of units labelled (${e.labelled}/${e.units}), ` +
    `accuracy ${percent(e.labelledAccuracy)} (${e.labelledCorrect}/${e.labelled})`
  );
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'Train a cell-type classifier (TensorFlow.js) from a labelled unit library, with cross-validation',
  help: HELP,
  async run(argv, io: CliIo) {
    const { values } = parseCommandArgs('train', {
      args: [...argv],
      options: {
        library: { type: 'string' },
        out: { type: 'string' },
        folds: { type: 'string' },
        'cv-only': { type: 'boolean' },
        seed: { type: 'string' },
        epochs: { type: 'string' },
        members: { type: 'string' },
        'batch-size': { type: 'string' },
        'learning-rate': { type: 'string' },
        'min-steps': { type: 'string' },
        classes: { type: 'string' },
        'min-class-units': { type: 'string' },
        inputs: { type: 'string' },
        'waveform-window': { type: 'string' },
        'min-spikes': { type: 'string' },
        'max-spikes': { type: 'string' },
        views: { type: 'string' },
        abstain: { type: 'string' },
        name: { type: 'string' },
        description: { type: 'string' },
        backend: { type: 'string' },
        quiet: { type: 'boolean' },
      },
      allowPositionals: false,
    });
    if (!values.library) throw usageError('train', '--library FILE is required');
    if (!values.out && !values['cv-only']) throw usageError('train', '--out DIR is required (or --cv-only)');
    const folds = parseIntFlag('folds', values.folds, 5, 0);
    const seed = parseIntFlag('seed', values.seed, 1, 0);
    const settings: TrainSettings = {
      folds,
      seed,
      epochs: parseIntFlag('epochs', values.epochs, 40, 1),
      members: parseIntFlag('members', values.members, 5, 1),
      batchSize: parseIntFlag('batch-size', values['batch-size'], 64, 1),
      learningRate: parseNumberFlag('learning-rate', values['learning-rate'], 1e-3, 0),
      minSteps: parseIntFlag('min-steps', values['min-steps'], 1000, 0),
      viewSpikeCounts: values.views === undefined ? DEFAULT_VIEW_SPIKE_COUNTS : values.views.split(',').map((v) => parseIntFlag('views', v.trim(), 0, 2)),
      log: values.quiet ? () => {} : (line) => io.err(`${line}\n`),
    };
    const backend = (values.backend ?? 'auto') as BackendPreference;
    if (!['auto', 'wasm', 'cpu', 'node-gpu'].includes(backend)) throw usageError('train', `--backend: expected auto, wasm, cpu or node-gpu, got ${JSON.stringify(values.backend)}`);
    let windowMs: [number, number] | null = null;
    if (values['waveform-window'] !== undefined) {
      const m = /^(-?[\d.]+):(-?[\d.]+)$/.exec(values['waveform-window']);
      if (!m || !(Number(m[1]) < Number(m[2]))) throw usageError('train', `--waveform-window: expected FROM:TO in ms with FROM < TO, e.g. -0.6:0.75, got ${JSON.stringify(values['waveform-window'])}`);
      windowMs = [Number(m[1]), Number(m[2])];
    }

    const library = readLibrary(values.library);
    const counts = labelCounts(library.units);
    const minClassUnits = parseIntFlag('min-class-units', values['min-class-units'], 2, 1);
    const classes = values.classes ? values.classes.split(',').map((c) => c.trim()).filter(Boolean) : counts.filter(([, n]) => n >= minClassUnits).map(([l]) => l);
    if (classes.length < 2) throw usageError('train', `expected at least 2 classes, got ${classes.length} (${classes.join(', ') || 'none'}); the library's labels: ${counts.map(([l, n]) => `${l} ${n}`).join(', ')}`);
    const hasLayers = library.units.some((u) => u.layer);
    const inputs = (values.inputs ?? (hasLayers ? 'waveform,acg3d,layer' : 'waveform,acg3d')).split(',').map((s) => s.trim()) as InputName[];
    for (const i of inputs) if (!['waveform', 'acg3d', 'layer'].includes(i)) throw usageError('train', `--inputs: expected a subset of waveform,acg3d,layer, got ${JSON.stringify(i)}`);
    const outDir = values.out ? resolve(values.out) : null;
    const name = values.name ?? (outDir ? outDir.split('/').filter(Boolean).pop()! : 'model');
    const template = manifestTemplate({
      name,
      description: values.description,
      classes,
      inputs,
      waveformWindowMs: windowMs,
      layers: inputs.includes('layer') ? layerCategories(library.units) : undefined,
      minSpikes: parseIntFlag('min-spikes', values['min-spikes'], 100, 2),
      maxSpikes: parseIntFlag('max-spikes', values['max-spikes'], 20000, 100),
      abstainBelowRatio: parseNumberFlag('abstain', values.abstain, 2, 0),
    });
    const usable = usableUnits(library.units, template);
    const perClass = classes.map((c, k) => `${c} ${usable.labels.filter((l) => l === k).length}`).join(', ');
    io.out(`library ${values.library}: ${library.units.length} units; training on ${usable.indices.length} (${perClass}), ${usable.skipped.length} left out\n`);
    if (usable.indices.length < 2) throw usageError('train', 'fewer than 2 usable units in the library');
    const { tf, backend: chosen } = await loadTf(backend, settings.log);
    io.out(`inputs ${inputs.join(', ')}; ${settings.members} members × ${settings.epochs} epochs; seed ${seed}; TensorFlow.js backend ${chosen}\n`);

    let training: Record<string, unknown> = {
      library: values.library,
      units: usable.indices.length,
      unitsPerClass: Object.fromEntries(classes.map((c, k) => [c, usable.labels.filter((l) => l === k).length])),
      seed,
      epochs: settings.epochs,
      members: settings.members,
      views: settings.viewSpikeCounts,
    };
    if (folds >= 2) {
      const smallest = Math.min(...classes.map((_, k) => usable.labels.filter((l) => l === k).length));
      if (smallest < folds) io.out(`note: the smallest class has ${smallest} units, fewer than ${folds} folds: some folds have none of it\n`);
      const cv = await crossValidate(tf, library.units, template, settings);
      io.out(`\n${folds}-fold cross-validation (stratified by class, seed ${seed}):\n`);
      for (const f of cv.folds) io.out(`  fold ${f.fold + 1}: ${f.testUnits} units, accuracy ${percent(f.evaluation.accuracy)}, labelled ${percent(f.evaluation.labelledFraction)} at ${percent(f.evaluation.labelledAccuracy)}\n`);
      io.out(`overall: ${formatEvaluation(cv.overall, classes)}\n`);
      if (cv.bySpikes.length) {
        io.out('held-out windows by spike count (accuracy; labelled fraction and accuracy at the threshold):\n');
        for (const b of cv.bySpikes) io.out(`  ${String(b.spikes).padStart(6)} spikes: ${percent(b.evaluation.accuracy).padStart(7)} of ${b.evaluation.units}; labelled ${percent(b.evaluation.labelledFraction)} at ${percent(b.evaluation.labelledAccuracy)}\n`);
      }
      training = {
        ...training,
        crossValidation: {
          folds,
          accuracy: cv.overall.accuracy,
          confusion: cv.overall.confusion,
          abstainBelowRatio: template.abstainBelowRatio,
          labelledFraction: cv.overall.labelledFraction,
          labelledAccuracy: cv.overall.labelledAccuracy,
          perFold: cv.folds.map((f) => f.evaluation.accuracy),
          bySpikes: cv.bySpikes.map((b) => ({ spikes: b.spikes, accuracy: b.evaluation.accuracy, labelledFraction: b.evaluation.labelledFraction, labelledAccuracy: b.evaluation.labelledAccuracy })),
        },
      };
    }
    if (values['cv-only'] || !outDir) return 0;
    io.out(`\ntraining the final model on all ${usable.indices.length} units …\n`);
    await trainFinal(tf, library.units, template, settings, outDir, training);
    io.out(`wrote ${outDir}/manifest.json and ${settings.members} member model(s)\n`);
    return 0;
  },
};
