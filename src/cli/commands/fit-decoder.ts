import { binData, fitDecoder } from '../../closedloop/bci/fit.js';
import { writeDecoder } from '../../closedloop/bci/decoder-format.js';
import { readSpikesCsv } from '../../closedloop/optotag-offline.js';
import { OptoloopError } from '../../core/errors.js';
import { readCsvTable } from '../../io/numeric-csv.js';
import { loadRigConfig } from '../../config/load.js';
import type { RecordingFormat } from '../../io/recording-reader.js';
import { assignRecordingUnits, finalUnitId } from '../../offline/assign-recording.js';
import { parseCommandArgs, usageError, type CliIo, type Command } from '../command.js';

export const fitDecoderCommand: Command = {
  name: 'fit-decoder',
  summary: 'Fit a linear (ridge) or Kalman BCI decoder from unit spike times and behaviour',
  help: `Usage: optoloop fit-decoder --spikes <spikes.csv> --behaviour <behaviour.csv> --out <decoder.json> [options]
       optoloop fit-decoder --recording <file> [--config <rig.yaml>] --behaviour <behaviour.csv> --out <decoder.json> [options]

Bins every unit's spikes (--bin-ms), takes the behaviour at each bin's centre (linear
interpolation), fits a decoder on the first part of the data and scores it on the held-out rest
(--test-fraction) with the same online code the daemon runs. Writes the decoder file that the
rig config's bci.decoder loads (format: docs/bci.md).

Spikes come from a CSV (--spikes) or from a recording (--recording): the recording is replayed
through the same detection pipeline and unit assignment the daemon runs live and optoloop classify
runs offline (the rig config's pipeline, probe and classifier sections; online clustering unless
classifier.templates names a Kilosort folder), and each unit's spike times go to the fit. Unit ids
are those the assignment gave (merged units under their surviving id); times count from the
recording's first sample, so the behaviour's time_s must too.

Input files (comma-separated, a header line first; blank lines and # comments skipped):
  --spikes <file>     header "unit,time_s": one spike per line; unit ids are whole numbers ≥ 0
                      (the daemon's unit ids), times in s.
  --recording <file>  a recording optoloop reads (SpikeGLX .bin/.meta, Open Ephys, Intan .rhd, raw
                      with its sidecar; --format to force one).
  --behaviour <file>  header "time_s,<variable>,…": one sample per line, times ascending, e.g.
                      "time_s,x,y,vx,vy". Every column after time_s is a decoded output.
Only the span covered by both files is used.

Decoders:
  linear   Ridge regression on the rates of the current bin and --lags − 1 bins before it.
           --ridge is relative to the mean diagonal of XᵀX (0.01 = 1 %), so one value suits any
           number of units and rate scale.
  kalman   The standard fit (Wu et al. 2003): the state is the behaviour vector, x(t) = A x(t−1) + w,
           rates r(t) = H x(t) + q, A, W, H, Q by least squares; decoded in information form.

Options:
  --spikes <file>          Spike times (this or --recording).
  --recording <file>       Raw recording to detect and assign units in (this or --spikes).
  --config <file>          Rig config whose pipeline, probe and classifier sections apply to
                           --recording (default: their defaults).
  --format <fmt>           --recording format: auto (default), spikeglx, openephys, intan-rhd, raw.
  --probe <file>           probeinterface JSON for --recording (overrides the config's probe.file).
  --behaviour <file>       Behaviour samples (required).
  --out <file>             Decoder file to write (required).
  --kind <linear|kalman>   Decoder (default linear).
  --bin-ms <ms>            Rate bin width (default 20).
  --lags <n>               Linear: bins of history (default 1).
  --ridge <x>              Linear: relative ridge (default 0.01).
  --test-fraction <f>      Fraction of bins held out at the end, 0 … 0.9 (default 0.2).
  --units <id,id,…>        Use only these units (default: every unit with --min-spikes spikes).
  --min-spikes <n>         Leave out units with fewer spikes in the span (default 10).
  --json                   Print the fit summary as JSON.
  -h, --help               Show this help.

Exit status: 0 written, 1 unreadable or malformed input, 2 wrong usage.`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('fit-decoder', {
      args: [...argv],
      options: {
        spikes: { type: 'string' },
        recording: { type: 'string' },
        config: { type: 'string' },
        format: { type: 'string' },
        probe: { type: 'string' },
        behaviour: { type: 'string' },
        out: { type: 'string' },
        kind: { type: 'string' },
        'bin-ms': { type: 'string' },
        lags: { type: 'string' },
        ridge: { type: 'string' },
        'test-fraction': { type: 'string' },
        units: { type: 'string' },
        'min-spikes': { type: 'string' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
    });
    if (positionals.length) throw usageError('fit-decoder', `unexpected argument ${JSON.stringify(positionals[0])}`);
    if ((typeof values.spikes === 'string') === (typeof values.recording === 'string')) throw usageError('fit-decoder', 'give either --spikes <file> or --recording <file>');
    if (typeof values.recording !== 'string') {
      for (const flag of ['config', 'format', 'probe'] as const) if (values[flag] !== undefined) throw usageError('fit-decoder', `--${flag} applies to --recording only`);
    }
    const format = (values.format ?? 'auto') as RecordingFormat | 'auto';
    if (!['auto', 'spikeglx', 'openephys', 'intan-rhd', 'raw'].includes(format)) throw usageError('fit-decoder', `--format: expected auto, spikeglx, openephys, intan-rhd or raw, got ${JSON.stringify(values.format)}`);
    for (const required of ['behaviour', 'out'] as const) {
      if (typeof values[required] !== 'string') throw usageError('fit-decoder', `--${required} <file> is required`);
    }
    const kind = values.kind ?? 'linear';
    if (kind !== 'linear' && kind !== 'kalman') throw usageError('fit-decoder', `--kind: expected linear or kalman, got ${JSON.stringify(kind)}`);
    const number = (flag: string, fallback: number, check: (v: number) => boolean, expected: string): number => {
      const text = values[flag as keyof typeof values];
      if (text === undefined) return fallback;
      const v = Number(text);
      if (typeof text !== 'string' || text.trim() === '' || !Number.isFinite(v) || !check(v)) throw usageError('fit-decoder', `--${flag}: expected ${expected}, got ${JSON.stringify(text)}`);
      return v;
    };
    const binMs = number('bin-ms', 20, (v) => v > 0 && v <= 10_000, 'a positive number of ms');
    const lags = number('lags', 1, (v) => Number.isInteger(v) && v >= 1 && v <= 1000, 'a whole number 1 … 1000');
    const ridge = number('ridge', 0.01, (v) => v >= 0, 'a number ≥ 0');
    const testFraction = number('test-fraction', 0.2, (v) => v >= 0 && v <= 0.9, 'a number 0 … 0.9');
    const minSpikes = number('min-spikes', 10, (v) => Number.isInteger(v) && v >= 0, 'a whole number ≥ 0');
    let wanted: number[] | null = null;
    if (typeof values.units === 'string') {
      wanted = values.units.split(',').map((t) => Number(t.trim()));
      if (!wanted.every((u) => Number.isInteger(u) && u >= 0)) throw usageError('fit-decoder', `--units: expected whole numbers separated by commas, got ${JSON.stringify(values.units)}`);
    }

    const spikesFrom = values.recording ?? values.spikes!;
    const byId = values.recording
      ? await recordingUnitSpikes(values.recording, { config: values.config, format, probe: values.probe }, io)
      : spikesCsvById(values.spikes!);

    const behaviour = readCsvTable(values.behaviour!, { what: 'behaviour CSV', columns: [{ name: 'time_s', kind: 'number' }], extraNumericColumns: true });
    const outputs = behaviour.header.slice(1);
    if (outputs.length === 0) {
      throw new OptoloopError('E_FILE_MALFORMED', `${values.behaviour}: line 1: expected at least one behaviour column after time_s, got only "time_s"`, { stage: 'closedloop.bci' });
    }
    const times = behaviour.numbers.get('time_s')!;
    for (let r = 1; r < behaviour.rowCount; r++) {
      if (!(times[r] > times[r - 1])) {
        throw new OptoloopError('E_FILE_MALFORMED', `${values.behaviour}: line ${behaviour.lineOfRow[r]}, column 1 (time_s): expected a time after ${times[r - 1]}, got ${times[r]}`, {
          stage: 'closedloop.bci',
          details: { file: values.behaviour, line: behaviour.lineOfRow[r] },
        });
      }
    }
    if (behaviour.rowCount < 2) throw new OptoloopError('E_FILE_MALFORMED', `${values.behaviour}: expected at least two behaviour samples, got ${behaviour.rowCount}`, { stage: 'closedloop.bci' });
    const t0 = times[0];
    const t1 = times[behaviour.rowCount - 1];
    let unitIds = wanted ?? [...byId.keys()].sort((a, b) => a - b);
    for (const u of unitIds) if (!byId.has(u)) throw usageError('fit-decoder', `--units: unit ${u} has no spikes in ${spikesFrom}`);
    const left: number[] = [];
    unitIds = unitIds.filter((u) => {
      const t = byId.get(u)!;
      let n = 0;
      for (const x of t) if (x >= t0 && x <= t1) n++;
      if (n < minSpikes) left.push(u);
      return n >= minSpikes;
    });
    if (!unitIds.length) throw usageError('fit-decoder', `no unit has ${minSpikes} spikes within the behaviour's span (${t0} … ${t1} s)`);
    const data = binData(
      unitIds,
      unitIds.map((u) => byId.get(u)!),
      times,
      outputs.map((o) => behaviour.numbers.get(o)!),
      outputs,
      binMs,
    );
    let valid = data.bins;
    for (let b = 0; b < data.bins; b++) if (Number.isNaN(data.behaviour[b * outputs.length])) valid = Math.min(valid, b);
    const decoder = fitDecoder(valid === data.bins ? data : { ...data, bins: valid }, { kind, lags, ridge, testFraction, source: `${spikesFrom} + ${values.behaviour}` });
    writeDecoder(values.out!, decoder);
    const summary = { out: values.out, kind, units: unitIds.length, unitsLeftOut: left, bins: decoder.fit!.bins, testBins: decoder.fit!.testBins, outputs, testR2: decoder.fit!.testR2 };
    if (values.json) io.out(`${JSON.stringify(summary)}\n`);
    else {
      io.out(`${values.out}: ${kind} decoder, ${unitIds.length} units${left.length ? ` (${left.length} left out: fewer than ${minSpikes} spikes)` : ''}, ${binMs} ms bins, fitted on ${decoder.fit!.bins} bins\n`);
      io.out(`held-out R² (${decoder.fit!.testBins} bins): ${outputs.map((o, i) => `${o} ${decoder.fit!.testR2[i] === null ? '-' : decoder.fit!.testR2[i]!.toFixed(3)}`).join(', ')}\n`);
    }
    return 0;
  },
};

/** The spike CSV's units by id (whole-number ids: the daemon's). */
function spikesCsvById(path: string): Map<number, Float64Array> {
  const byId = new Map<number, Float64Array>();
  for (const [label, times] of readSpikesCsv(path)) {
    const id = Number(label);
    if (!/^\d+$/.test(label) || !Number.isSafeInteger(id)) {
      throw new OptoloopError('E_FILE_MALFORMED', `${path}: unit "${label}": expected a whole-number unit id (the daemon's unit ids)`, {
        stage: 'closedloop.bci',
        details: { file: path, unit: label },
      });
    }
    byId.set(id, times);
  }
  return byId;
}

/** Per-unit spike times (s from the recording's first sample) of a recording, through the live unit path. */
async function recordingUnitSpikes(path: string, flags: { config?: string; format: RecordingFormat | 'auto'; probe?: string }, io: CliIo): Promise<Map<number, Float64Array>> {
  const rig = flags.config ? loadRigConfig(flags.config) : null;
  const sample: number[] = [];
  const unit: number[] = [];
  // Units and features only: cell types play no part in the fit.
  const run = await assignRecordingUnits({
    path,
    format: flags.format,
    rig,
    configPath: flags.config,
    classifier: { model: null },
    probeFile: flags.probe ?? null,
    warn: (m) => io.err(`optoloop fit-decoder: ${m}\n`),
    onResult: ({ spikes }) => {
      for (let k = 0; k < spikes.count; k++) {
        if (spikes.unitId[k] < 0) continue;
        sample.push(spikes.peakSampleIndex[k]);
        unit.push(spikes.unitId[k]);
      }
    },
  });
  try {
    const rate = run.info.sampleRateHz;
    const lists = new Map<number, number[]>();
    for (let i = 0; i < sample.length; i++) {
      const id = finalUnitId(run.units, unit[i]);
      let list = lists.get(id);
      if (!list) lists.set(id, (list = []));
      list.push((sample[i] - run.firstSampleIndex) / rate);
    }
    const byId = new Map<number, Float64Array>();
    for (const [id, times] of lists) byId.set(id, Float64Array.from(times).sort());
    io.err(`optoloop fit-decoder: ${path}: ${(run.frames / rate).toFixed(1)} s × ${run.info.channelCount} channels, ${sample.length} assigned spikes in ${byId.size} units (${run.wallS.toFixed(1)} s)\n`);
    return byId;
  } finally {
    await run.units.close();
  }
}
