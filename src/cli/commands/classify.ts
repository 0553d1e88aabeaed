import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { classifierConfigSchema, type ClassifierConfig } from '../../classify/config.js';
import { readLibrary } from '../../classify/library.js';
import { resolveModelDirectory } from '../../classify/model/model-path.js';
import { argmax, confidenceRatio, evaluate, formatConfusion, percent } from '../../classify/train/metrics.js';
import { ClassifierClient } from '../../classify/worker/classifier-client.js';
import type { ResultMessage } from '../../classify/worker/protocol.js';
import { loadRigConfig } from '../../config/load.js';
import * as s from '../../config/schema.js';
import { OptoloopError } from '../../core/errors.js';
import type { RecordingFormat } from '../../io/recording-reader.js';
import { assignRecordingUnits } from '../../offline/assign-recording.js';
import { parseCommandArgs, usageError, type CliIo, type Command } from '../command.js';
import { ProgressBar } from '../progress.js';

const HELP = `Usage: optoloop classify <recording> [--model NAME|DIR] [--templates DIR] [--config FILE] --out units.json
       optoloop classify --library FILE --model NAME|DIR [--json]

Recording mode: runs a recording through the same code as the live daemon, as fast as it computes:
file replay → detection pipeline (reference, band-pass, noise, detection, snippets) → unit
assignment → per-unit features → the classifier in its worker thread, which (re)classifies units
at 100, 200, 400 … spikes and every 30 s of stream time, exactly as live. At the end every unit is
classified once more with all its spikes. Writes units.json: the run's facts and one UnitSummary
per unit (id, peak channel, spike count, firing rate, trough-to-peak, mean peak-channel waveform,
ACG, layer, and the classification: class names, probabilities, confidence ratio, label or null
when the model abstains, spike count and time-to-label).

  <recording>             A SpikeGLX .bin/.meta, an Open Ephys structure.oebin or its folder, an
                          Intan .rhd, or a raw .bin/.dat with its JSON sidecar.
  --out FILE              Where to write units.json (required).
  --model NAME|DIR        A shipped model (cerebellum, cortex) or a model folder; overrides the
                          config's classifier.model. Without a model: units and features only.
  --templates DIR         A Kilosort / phy output folder to match spikes against (templates.npy,
                          channel_map.npy, spike_templates.npy, cluster_group.tsv, …); without it,
                          units are found by online clustering from a cold start.
  --config FILE           A rig config: its pipeline and classifier sections (and probe.file) are
                          used; command-line flags win.
  --probe FILE            A probeinterface JSON for the channel geometry when the recording has
                          none (SpikeGLX and raw-with-probe recordings carry theirs).
  --format FMT            auto (default), spikeglx, openephys, intan-rhd or raw.
  --backend B             auto (default), wasm, cpu or node-gpu.
  --abstain X             Confidence ratio below which no label is given (default: the model's, 2).

Library mode: classifies the units of a labelled unit library (src/classify/library.ts format) with
a model, in the worker, and prints each unit's probabilities, confidence ratio and label; where a
unit's label is one of the model's classes, also the accuracy, the confusion matrix, and the
accuracy on the units labelled at the abstention threshold with the fraction labelled.

  --library FILE          The unit library.
  --model NAME|DIR        The model (required).
  --json                  One JSON object per unit per line instead of the table.

  -h, --help              Show this help.

Exit status: 0 done, 1 failure, 2 wrong usage.`;

export const classifyCommand: Command = {
  name: 'classify',
  summary: 'Units and cell types of a recording (offline, through the live code path), or of a unit library',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('classify', {
      args: [...argv],
      options: {
        out: { type: 'string' },
        model: { type: 'string' },
        templates: { type: 'string' },
        config: { type: 'string' },
        probe: { type: 'string' },
        format: { type: 'string' },
        backend: { type: 'string' },
        abstain: { type: 'string' },
        library: { type: 'string' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
    });
    const backend = values.backend ?? 'auto';
    if (!['auto', 'wasm', 'cpu', 'node-gpu'].includes(backend)) throw usageError('classify', `--backend: expected auto, wasm, cpu or node-gpu, got ${JSON.stringify(backend)}`);
    let abstain: number | undefined;
    if (values.abstain !== undefined) {
      abstain = Number(values.abstain);
      if (!(abstain >= 1)) throw usageError('classify', `--abstain: expected a number ≥ 1, got ${JSON.stringify(values.abstain)}`);
    }
    if (values.library) {
      if (positionals.length) throw usageError('classify', 'give either a recording or --library, not both');
      if (!values.model) throw usageError('classify', '--model is required with --library');
      return classifyLibrary(values.library, values.model, backend as ClassifierConfig['backend'], abstain, values.json ?? false, io);
    }
    if (positionals.length !== 1) throw usageError('classify', `expected one recording, got ${positionals.length}`);
    if (!values.out) throw usageError('classify', '--out FILE is required');
    const format = (values.format ?? 'auto') as RecordingFormat | 'auto';
    if (!['auto', 'spikeglx', 'openephys', 'intan-rhd', 'raw'].includes(format)) throw usageError('classify', `--format: expected auto, spikeglx, openephys, intan-rhd or raw, got ${JSON.stringify(values.format)}`);
    return classifyRecording(positionals[0], values.out, { ...values, format, backend, abstain } as RecordingFlags, io);
  },
};

interface RecordingFlags {
  readonly model?: string;
  readonly templates?: string;
  readonly config?: string;
  readonly probe?: string;
  readonly format: RecordingFormat | 'auto';
  readonly backend: ClassifierConfig['backend'];
  readonly abstain?: number;
}

async function classifyRecording(path: string, out: string, flags: RecordingFlags, io: CliIo): Promise<number> {
  const rig = flags.config ? loadRigConfig(flags.config) : null;
  const base = rig?.classifier ?? (s.validate(classifierConfigSchema, {}) as { value: ClassifierConfig }).value;
  let bar: ProgressBar | null = null;
  const run = await assignRecordingUnits({
    path,
    format: flags.format,
    rig,
    configPath: flags.config,
    classifier: {
      model: flags.model ?? base.model,
      templates: flags.templates ?? base.templates,
      backend: flags.backend !== 'auto' ? flags.backend : base.backend,
      abstainBelowRatio: flags.abstain ?? base.abstainBelowRatio,
    },
    probeFile: flags.probe ?? null,
    warn: (m) => io.err(`optoloop classify: ${m}\n`),
    log: (l) => io.err(`${l}\n`),
    onProgress: (frames, stream) => {
      bar ??= new ProgressBar({ out: io.err, isTty: io.isTty, sampleRateHz: stream.sampleRateHz, totalFrames: stream.totalFrames, label: 'classify' });
      bar.update(frames);
    },
  });
  const { info, units, classifier } = run;
  const lastFrame = run.frames;
  (bar as ProgressBar | null)?.finish(lastFrame);
  try {
    const summaries = units.units();
    const status = units.status();
    const document = {
      format: 'optoloop-units',
      version: 1,
      recording: resolve(path),
      streamId: info.streamId,
      sampleRateHz: info.sampleRateHz,
      channels: info.channelCount,
      durationS: lastFrame / info.sampleRateHz,
      assignment: status.assignment,
      templates: classifier.templates,
      model: status.model,
      backend: status.backend,
      spikes: status.spikes,
      assignedSpikes: status.assignedSpikes,
      units: summaries,
    };
    try {
      writeFileSync(out, `${JSON.stringify(document)}\n`);
    } catch (cause) {
      throw new OptoloopError('E_FILE_WRITE', `${out}: cannot write units (${(cause as Error).message})`, { stage: 'cli', cause });
    }
    const labelled = summaries.filter((u) => u.classification?.label);
    const byLabel = new Map<string, number>();
    for (const u of labelled) byLabel.set(u.classification!.label!, (byLabel.get(u.classification!.label!) ?? 0) + 1);
    io.out(
      `${path}: ${(lastFrame / info.sampleRateHz).toFixed(1)} s × ${info.channelCount} channels in ${run.wallS.toFixed(1)} s\n` +
        `${status.spikes} spikes, ${status.assignedSpikes} assigned (${status.assignment === 'templates' ? `templates from ${classifier.templates}` : 'online clustering'}), ${summaries.length} units\n` +
        (status.model ? `model ${status.model} on ${status.backend}: ${status.classified} classified, ${labelled.length} labelled (${[...byLabel].map(([l, n]) => `${l} ${n}`).join(', ') || 'none'})\n` : 'no model: units and features only\n') +
        `wrote ${out}\n`,
    );
    return 0;
  } finally {
    await units.close();
  }
}

async function classifyLibrary(path: string, model: string, backend: ClassifierConfig['backend'], abstain: number | undefined, json: boolean, io: CliIo): Promise<number> {
  const library = readLibrary(path);
  const client = await ClassifierClient.start({ modelDirectory: resolveModelDirectory(model), backend, log: (l) => io.err(`${l}\n`) });
  try {
    const classes = client.model.classes;
    const threshold = abstain ?? client.model.abstainBelowRatio;
    const results = new Map<number, ResultMessage>();
    const done = new Promise<void>((resolveDone, reject) => {
      client.onResult = (r) => {
        results.set(r.unitId, r);
        if (results.size === library.units.length) resolveDone();
      };
      client.onRequestError = (_, error) => reject(error);
    });
    library.units.forEach((u, i) => client.classify(i, Float32Array.from(u.waveformUv), u.waveformSampleRateHz, Float64Array.from(u.spikeTimesS), u.layer));
    if (library.units.length) await done;
    const predictions: { trueClass: number; probabilities: number[] }[] = [];
    const width = Math.max(4, ...library.units.map((u) => u.id.length));
    if (!json) io.out(`${'unit'.padEnd(width)}  ${'label'.padEnd(12)} ${'predicted'.padEnd(12)} ratio   ${classes.map((c) => c.padStart(8)).join(' ')}\n`);
    library.units.forEach((u, i) => {
      const p = Array.from(results.get(i)!.probabilities);
      const ratio = confidenceRatio(p);
      const predicted = ratio >= threshold ? classes[argmax(p)] : null;
      if (json) io.out(`${JSON.stringify({ id: u.id, label: u.label, predicted, confidenceRatio: ratio, probabilities: Object.fromEntries(classes.map((c, k) => [c, p[k]])) })}\n`);
      else io.out(`${u.id.padEnd(width)}  ${u.label.padEnd(12)} ${(predicted ?? '(abstain)').padEnd(12)} ${ratio >= 1e5 ? '  >1e5' : ratio.toFixed(2).padStart(6)}  ${p.map((x) => x.toFixed(3).padStart(8)).join(' ')}\n`);
      const k = classes.indexOf(u.label);
      if (k >= 0) predictions.push({ trueClass: k, probabilities: p });
    });
    if (!json && predictions.length) {
      const e = evaluate(predictions, classes.length, threshold);
      io.out(
        `\n${predictions.length} of ${library.units.length} units carry one of the model's classes (${classes.join(', ')})\n` +
          `accuracy ${percent(e.accuracy)} (${e.correct}/${e.units})\n${formatConfusion(e.confusion, classes)}\n` +
          `at confidence ratio ≥ ${threshold}: ${percent(e.labelledFraction)} labelled (${e.labelled}/${e.units}), accuracy ${percent(e.labelledAccuracy)} (${e.labelledCorrect}/${e.labelled})\n`,
      );
    }
    return 0;
  } finally {
    await client.close();
  }
}
