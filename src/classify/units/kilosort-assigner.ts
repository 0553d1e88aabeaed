/**
 * Unit assignment by matching each spike against the templates of a Kilosort / phy folder
 * (see kilosort-folder.ts for how the folder is read and what whitening, merges and noise clusters
 * become). Templates are placed in a bank on a common alignment (their troughs at one index), and
 * each spike is compared with the templates whose peak lies within `candidateRadiusUm` of its own.
 */
import { OptoloopError } from '../../core/errors.js';
import type { SnippetBatch } from '../../core/spikes.js';
import type { ChannelLayout } from '../../probe/channel-layout.js';
import { CandidateIndex } from './candidate-index.js';
import type { KilosortFolder } from './kilosort-folder.js';
import { TemplateBank } from './template-bank.js';
import { TemplateMatcher, type MatchOptions } from './template-matcher.js';
import { EarlyIdentifier } from './early-identifier.js';
import { checkEarlyWindow, checkSnippetWindow, type UnitAssigner, type UnitEvent } from './unit-assigner.js';

export interface KilosortAssignerOptions {
  /** Templates compared with a spike: those whose peak is within this distance of its peak channel. */
  readonly candidateRadiusUm: number;
  /** Matching window around the trough, ms. */
  readonly windowBeforeMs: number;
  readonly windowAfterMs: number;
  readonly maxShiftSamples: number;
  readonly maxExcessSigma: number;
  readonly maxTemplateError: number;
  /** Rows of the snippets the matcher will see (the snippet stage's neighbourhood size). */
  readonly maxSnippetRows: number;
  readonly sampleRateHz: number;
}

const STAGE = 'classify.templates';

export class KilosortAssigner implements UnitAssigner {
  readonly kind = 'templates' as const;
  private readonly bank: TemplateBank;
  private readonly index: CandidateIndex;
  private readonly matcher: TemplateMatcher;
  private readonly early: EarlyIdentifier;
  private checked = false;
  private readonly unitPeak = new Map<number, number>();

  constructor(
    private readonly folder: KilosortFolder,
    private readonly layout: ChannelLayout,
    private readonly options: KilosortAssignerOptions,
  ) {
    if (folder.channelsNeeded > layout.channelCount) {
      throw new OptoloopError('E_OPTIONS_INVALID', `${folder.directory}: the templates use channel ${folder.channelsNeeded - 1} but the stream has ${layout.channelCount} channels; expected the folder sorted from this probe's recording`, {
        stage: STAGE,
      });
    }
    if (folder.sampleRateHz !== null && Math.abs(folder.sampleRateHz - options.sampleRateHz) > 1e-6 * options.sampleRateHz) {
      throw new OptoloopError('E_OPTIONS_INVALID', `${folder.directory}: params.py sample_rate is ${folder.sampleRateHz} Hz but the stream runs at ${options.sampleRateHz} Hz; templates must come from a recording at the stream's rate`, {
        stage: STAGE,
      });
    }
    const maxAlign = Math.max(...folder.templates.map((t) => t.alignIndex));
    const maxTail = Math.max(...folder.templates.map((t) => t.length - 1 - t.alignIndex));
    const length = maxAlign + maxTail + 1;
    const before = Math.min(maxAlign, Math.round((options.windowBeforeMs * options.sampleRateHz) / 1000));
    const after = Math.min(maxTail, Math.round((options.windowAfterMs * options.sampleRateHz) / 1000));
    const maxRows = Math.max(...folder.templates.map((t) => t.channels.length));
    this.bank = new TemplateBank(folder.templates.length, maxRows, length, maxAlign, before, after);
    this.index = new CandidateIndex(layout, options.candidateRadiusUm, folder.templates.length);
    folder.templates.forEach((t, k) => {
      const b = this.bank;
      b.active[k] = 1;
      b.rowCount[k] = t.channels.length;
      b.peakChannel[k] = t.peakChannel;
      b.unitOf[k] = t.unitId;
      b.spikeCount[k] = t.spikeCount;
      const offset = maxAlign - t.alignIndex;
      for (let r = 0; r < t.channels.length; r++) {
        b.channels[k * maxRows + r] = t.channels[r];
        b.rowWeight[k * maxRows + r] = 1;
        b.data.set(t.waveforms.subarray(r * t.length, (r + 1) * t.length), (k * maxRows + r) * length + offset);
        b.refreshRowEnergy(k, r);
      }
      this.index.add(k, t.peakChannel);
      if (t.unitId >= 0) {
        const previous = this.unitPeak.get(t.unitId);
        // A merged cluster lives where its most-used template does.
        if (previous === undefined || t.spikeCount > (folder.templates.find((x) => x.unitId === t.unitId && x.peakChannel === previous)?.spikeCount ?? 0)) this.unitPeak.set(t.unitId, t.peakChannel);
      }
    });
    const matchOptions: MatchOptions = { maxShift: options.maxShiftSamples, minScale: 0, maxScale: Infinity, maxExcessSigma: options.maxExcessSigma, maxTemplateError: options.maxTemplateError };
    this.matcher = new TemplateMatcher(this.bank, layout.channelCount, options.maxSnippetRows, matchOptions);
    this.early = new EarlyIdentifier(STAGE, this.bank, this.index, layout.channelCount, options.maxSnippetRows, matchOptions);
  }

  checkSnippetGeometry(samplesBefore: number, samplesAfter: number, _sampleRateHz?: number, earlySamplesAfter = 0): void {
    checkSnippetWindow(STAGE, samplesBefore, samplesAfter, this.bank.windowBefore, this.bank.windowAfter, this.options.maxShiftSamples);
    if (earlySamplesAfter > 0) checkEarlyWindow(STAGE, samplesBefore, earlySamplesAfter, this.bank.windowBefore, this.options.maxShiftSamples);
  }

  private checkGeometry(batch: SnippetBatch): void {
    this.checkSnippetGeometry(batch.samplesBefore, batch.samplesAfter);
    if (batch.neighbourCapacity > this.options.maxSnippetRows) {
      throw new OptoloopError('E_OPTIONS_INVALID', `${STAGE}: snippets have ${batch.neighbourCapacity} rows, more than the ${this.options.maxSnippetRows} the matcher was built for`, { stage: STAGE });
    }
    this.checked = true;
  }

  assign(batch: SnippetBatch, noiseUv: Float32Array): void {
    if (batch.count > 0 && !this.checked) this.checkGeometry(batch);
    const index = this.index;
    for (let k = 0; k < batch.count; k++) {
      const ch = batch.peakChannel[k];
      const m = this.matcher.match(batch, k, noiseUv, index.lists, index.offset(ch), index.counts[ch]);
      batch.unitId[k] = m.accepted ? this.bank.unitOf[m.template] : -1;
    }
  }

  identifyEarly(batch: SnippetBatch, noiseUv: Float32Array): void {
    this.early.identify(batch, noiseUv);
  }

  maintain(): readonly UnitEvent[] {
    return [];
  }

  unitIds(): number[] {
    return [...this.folder.units.keys()].sort((a, b) => a - b);
  }

  peakChannelOf(unitId: number): number {
    return this.unitPeak.get(unitId) ?? -1;
  }
}
