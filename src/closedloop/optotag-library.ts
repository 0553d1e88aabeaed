/**
 * Tagged units of an optotagging session → entries of the labelled unit library
 * (src/classify/library.ts), which `optoloop train` learns from.
 */
import { appendToLibrary, type LibraryUnitInput } from '../classify/library.js';
import type { OptotagSession } from './optotag-session.js';
import { largestChannel } from './waveform-correlation.js';

export interface LibraryExportOptions {
  /** Prefix of the library ids, e.g. `rig1/2025-03-02/`: ids become `<prefix>u<unitId>`. */
  readonly idPrefix: string;
  /** Probe position of a channel, for the multi-channel waveforms (omit when unknown). */
  readonly channelPositionUm?: (channel: number) => readonly [number, number] | null;
  readonly layerOf?: (unitId: number) => string | null;
}

/**
 * Library entries for the tagged units: the spontaneous mean waveform on the largest channel (and
 * every channel of the neighbourhood), the session's spike times, the tag statistics. Tagged units
 * without waveforms cannot enter the library (it needs one): they are listed in `skipped`.
 */
export function libraryUnitsOf(session: OptotagSession, options: LibraryExportOptions): { units: LibraryUnitInput[]; skipped: number[] } {
  const units: LibraryUnitInput[] = [];
  const skipped: number[] = [];
  for (const t of session.taggedUnits()) {
    const mean = t.meanWaveform;
    if (!mean || !t.channels) {
      skipped.push(t.result.unitId);
      continue;
    }
    const rows: number[][] = [];
    for (let r = 0; r < mean.channelCount; r++) rows.push(Array.from({ length: mean.sampleCount }, (_, k) => mean.samplesUv[r * mean.sampleCount + k]));
    const positions = options.channelPositionUm ? t.channels.map((c) => options.channelPositionUm!(c)) : null;
    const s = t.result.stats;
    units.push({
      id: `${options.idPrefix}u${t.result.unitId}`,
      label: session.config.label,
      waveformUv: rows[largestChannel(mean)],
      waveformSampleRateHz: mean.sampleRateHz,
      waveformPeakIndex: mean.peakIndex,
      spikeTimesS: Array.from(t.spikeTimesS),
      waveformsUv: rows,
      channelPositionsUm: positions && positions.every((p) => p !== null) ? positions.map((p) => [p![0], p![1]]) : null,
      layer: options.layerOf?.(t.result.unitId) ?? null,
      source: 'optotag',
      tag: {
        pulses: s.pulses,
        saltP: s.saltP,
        saltI: s.saltI,
        latencyMs: s.latencyMs,
        jitterMs: s.jitterMs,
        reliability: s.reliability,
        allenRatio: s.allenRatio,
        waveformCorrelation: t.result.waveformCorrelation,
      },
    });
  }
  return { units, skipped };
}

/** Appends the session's tagged units to its configured library (if any); returns what was written and skipped. */
export function appendTaggedUnits(session: OptotagSession, options: LibraryExportOptions): { written: number; skipped: number[] } {
  if (!session.config.library) return { written: 0, skipped: [] };
  const { units, skipped } = libraryUnitsOf(session, options);
  if (units.length) appendToLibrary(session.config.library, units);
  return { written: units.length, skipped };
}
