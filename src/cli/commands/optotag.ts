import * as s from '../../config/schema.js';
import { optotagAnalysisSchema, tagCriteriaSchema, type OptotagAnalysisOptions, type TagCriteria } from '../../closedloop/optotag-options.js';
import { analyseOffline, readPulsesCsv, readSpikesCsv, type OfflineUnitResult } from '../../closedloop/optotag-offline.js';
import { parseCommandArgs, usageError, type Command } from '../command.js';

/** Command-line flag → analysis option, for the numeric flags. */
const ANALYSIS_FLAGS = {
  'salt-window-ms': 'saltWindowMs',
  'salt-bin-ms': 'saltBinMs',
  'baseline-ms': 'baselineMs',
  'salt-test-start-ms': 'saltTestStartMs',
  'evoked-start-ms': 'evokedStartMs',
  'evoked-end-ms': 'evokedEndMs',
  'artefact-ms': 'artefactMs',
  'psth-bin-ms': 'psthBinMs',
  'min-pulse-gap-ms': 'minPulseGapMs',
} as const;

const CRITERIA_FLAGS = {
  'salt-alpha': 'saltAlpha',
  'min-reliability': 'minReliability',
  'min-latency-ms': 'minLatencyMs',
  'max-latency-ms': 'maxLatencyMs',
  'max-jitter-ms': 'maxJitterMs',
  'min-allen-ratio': 'minAllenRatio',
} as const;

export const optotagCommand: Command = {
  name: 'optotag',
  summary: 'Optotagging statistics (SALT, latency, jitter, reliability, Allen ratio) from spike and light-pulse CSV files',
  help: `Usage: optoloop optotag --spikes <spikes.csv> --pulses <pulses.csv> [--json] [options]

Computes, for every unit of the spikes file, the optotagging statistics of
../shared/docs/science.md §2 against the light pulses, and whether the unit counts as tagged.

Input files (comma-separated, a header line first; blank lines and lines starting with # are
skipped):
  --spikes <file>   header "unit,time_s": one spike per line, a unit id (any text) and its time in s.
  --pulses <file>   header "onset_s,offset_s": one light pulse per line, on the spikes' clock, in s.

Statistics per unit:
  salt_p, salt_i         SALT (Kvitsiani et al. 2013): first-spike latency histograms at
                         --salt-bin-ms in windows of --salt-window-ms; baseline windows tile the
                         --baseline-ms before each pulse, the test window starts --salt-test-start-ms
                         after onset. Raw spikes (no artefact removal), as CellBase.
  latency_ms             Centre of the highest 0.5 ms PSTH bin (−5…+10 ms) in the response window.
  jitter_ms              SD of the first response-window spike's time over pulses.
  reliability            Fraction of pulses with ≥ 1 spike in the response window
                         (--evoked-start-ms … --evoked-end-ms, default 1 … 10 ms).
  baseline_reliability   The same fraction in baseline windows of the same shape (no light).
  allen_ratio            Evoked rate (+1…+9 ms) / (baseline rate (−10…−2 ms) + 1 Hz).
  Spikes less than --artefact-ms after light onset or offset are ignored by all but SALT.
  first_spike_latency_ms, evoked_rate_hz, baseline_rate_hz, spikes, pulses (analysed),
  pulses_skipped (light in the baseline or response window, or outside the unit's first … last
  spike), tagged, failed (the criteria the unit failed).

Tagged: salt_p < --salt-alpha, more responses than in baseline windows (unless
--no-excitation-check), and the optional bounds below. These files carry no waveforms, so the
waveform-correlation criterion of the online session does not apply here.

Output: a table, or with --json one JSON object per unit per line (JSON lines), in the order units
first appear in the spikes file. Numbers that are undefined (too few spikes) are null.

Options:
  --spikes <file>              Spike times (required).
  --pulses <file>              Light pulses (required).
  --json                       JSON lines instead of a table.
  --salt-window-ms <ms>        SALT window wn (default 10).
  --salt-bin-ms <ms>           SALT bin dt (default 1).
  --baseline-ms <ms>           Baseline period before each pulse (default 500).
  --salt-test-start-ms <ms>    Start of the SALT test window after onset (default 0).
  --evoked-start-ms <ms>       Response window start (default 1).
  --evoked-end-ms <ms>         Response window end (default 10).
  --artefact-ms <ms>           Artefact time after light onset and offset (default 1).
  --psth-bin-ms <ms>           PSTH bin for the latency (default 0.5).
  --min-pulse-gap-ms <ms>      Use only pulses this long after the previous light offset
                               (default: the baseline period).
  --salt-alpha <p>             Tagged needs salt_p below this (default 0.01).
  --min-reliability <r>        Tagged needs reliability ≥ r.
  --min-latency-ms <ms>        Tagged needs latency ≥ this.
  --max-latency-ms <ms>        Tagged needs latency ≤ this.
  --max-jitter-ms <ms>         Tagged needs jitter ≤ this.
  --min-allen-ratio <x>        Tagged needs allen_ratio > x (Allen Brain Observatory: 2).
  --no-excitation-check        Do not require more responses than in baseline windows.
  -h, --help                   Show this help.

Malformed files are reported with the file, line, column and what was expected, e.g.
  spikes.csv: line 7, column 2 (time_s): expected a finite number, got "1.2.3"

Exit status: 0 done, 1 unreadable or malformed input, 2 wrong usage.`,
  async run(argv, io) {
    const options: Record<string, { type: 'string' | 'boolean' }> = {
      spikes: { type: 'string' },
      pulses: { type: 'string' },
      json: { type: 'boolean' },
      'no-excitation-check': { type: 'boolean' },
    };
    for (const flag of [...Object.keys(ANALYSIS_FLAGS), ...Object.keys(CRITERIA_FLAGS)]) options[flag] = { type: 'string' };
    const { values, positionals } = parseCommandArgs('optotag', { args: [...argv], options, allowPositionals: true });
    if (positionals.length) throw usageError('optotag', `unexpected argument ${JSON.stringify(positionals[0])}`);
    if (typeof values.spikes !== 'string') throw usageError('optotag', '--spikes <file> is required');
    if (typeof values.pulses !== 'string') throw usageError('optotag', '--pulses <file> is required');
    const analysis = parseSection('optotag', optotagAnalysisSchema, ANALYSIS_FLAGS, values) as OptotagAnalysisOptions;
    const criteria = parseSection('optotag', tagCriteriaSchema, CRITERIA_FLAGS, values, {
      requireExcitation: !values['no-excitation-check'],
      // No waveforms in these files; the bound stays in force for the online session only.
      minWaveformR: null,
    }) as TagCriteria;

    const spikes = readSpikesCsv(values.spikes);
    const pulses = readPulsesCsv(values.pulses);
    const results = analyseOffline(spikes, pulses, analysis, criteria);
    if (values.json) {
      for (const r of results) io.out(`${JSON.stringify(toJson(r))}\n`);
    } else {
      io.out(renderTable(results));
    }
    return 0;
  },
};

/** Builds an options object from flags, validates it, and reports problems in flag terms. */
function parseSection(
  command: string,
  schema: s.Schema<unknown>,
  flags: Record<string, string>,
  values: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): unknown {
  const raw: Record<string, unknown> = { ...extra };
  for (const [flag, key] of Object.entries(flags)) {
    const text = values[flag];
    if (text === undefined) continue;
    const n = Number(text);
    if (typeof text !== 'string' || text.trim() === '' || !Number.isFinite(n)) {
      throw usageError(command, `--${flag}: expected a number, got ${JSON.stringify(text)}`);
    }
    raw[key] = n;
  }
  const result = s.validate(schema, raw);
  if (!result.ok) {
    const byKey = Object.fromEntries(Object.entries(flags).map(([flag, key]) => [key, flag]));
    const first = result.issues[0];
    const flag = byKey[first.path] ? `--${byKey[first.path]}` : first.path;
    throw usageError(command, `${flag}: ${first.message}`);
  }
  return result.value;
}

function toJson(r: OfflineUnitResult): Record<string, unknown> {
  const st = r.stats;
  return {
    unit: r.unit,
    spikes: r.spikeCount,
    pulses: r.pulses,
    pulses_skipped: r.pulsesSkipped,
    salt_p: st.saltP,
    salt_i: st.saltI,
    latency_ms: st.latencyMs,
    jitter_ms: st.jitterMs,
    first_spike_latency_ms: st.firstSpikeLatencyMs,
    reliability: st.reliability,
    baseline_reliability: st.baselineReliability,
    allen_ratio: st.allenRatio,
    evoked_rate_hz: st.evokedRateHz,
    baseline_rate_hz: st.baselineRateHz,
    tagged: r.decision.tagged,
    failed: r.decision.failed,
  };
}

function fmt(v: number | null, digits: number): string {
  return v === null ? '-' : v.toFixed(digits);
}

function renderTable(results: readonly OfflineUnitResult[]): string {
  const head = ['unit', 'spikes', 'pulses', 'salt_p', 'salt_i', 'latency_ms', 'jitter_ms', 'reliability', 'allen_ratio', 'tagged'];
  const rows = results.map((r) => [
    r.unit,
    String(r.spikeCount),
    String(r.pulses),
    fmt(r.stats.saltP, 4),
    fmt(r.stats.saltI, 3),
    fmt(r.stats.latencyMs, 2),
    fmt(r.stats.jitterMs, 2),
    fmt(r.stats.reliability, 2),
    fmt(r.stats.allenRatio, 2),
    r.decision.tagged ? 'yes' : `no (${r.decision.failed.join(', ')})`,
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 || c === cells.length - 1 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd();
  return `${[line(head), ...rows.map(line)].join('\n')}\n`;
}
