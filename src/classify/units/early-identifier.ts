/**
 * Early identification: a spike's unit from its short snippet (pipeline.snippets.earlySamplesAfter),
 * so that the closed-loop rules act as soon as the detector reports the spike instead of waiting
 * for the full snippet the features need (2 ms after the trough by default).
 *
 * The short snippet is matched against the assigner's own templates, by the same matcher and
 * acceptance rule, over a window cut where the short snippet ends: the templates' window before the
 * trough, and earlySamplesAfter − maxShift samples after it (never more than the templates' own
 * window). It is read-only: no template learns from it, none is seeded, no overlap is peeled — the
 * full snippet's assignment, blocks later, does all that and may give another id (the agreement is
 * counted by early-id-tally.ts). A spike refused by every template, or taken by one without a unit
 * (provisional, or a Kilosort noise cluster), gets −1. Nothing is allocated per spike.
 */
import type { SnippetBatch } from '../../core/spikes.js';
import type { CandidateIndex } from './candidate-index.js';
import type { TemplateBank } from './template-bank.js';
import { TemplateMatcher, type MatchOptions } from './template-matcher.js';
import { checkEarlyWindow } from './unit-assigner.js';

export class EarlyIdentifier {
  private matcher: TemplateMatcher | null = null;
  private samplesAfter = -1;

  constructor(
    private readonly stage: string,
    private readonly bank: TemplateBank,
    private readonly index: CandidateIndex,
    private readonly channelCount: number,
    private readonly maxSnippetRows: number,
    private options: MatchOptions,
  ) {}

  /** Replaces the acceptance options along with the assigner's own matcher's. */
  setOptions(options: MatchOptions): void {
    this.options = options;
    this.matcher?.setOptions(options);
  }

  /** Writes `batch.unitId[k]` for every short snippet of the batch. */
  identify(batch: SnippetBatch, noiseUv: Float32Array): void {
    if (batch.count === 0) return;
    if (batch.samplesAfter !== this.samplesAfter) this.setUp(batch);
    const matcher = this.matcher!;
    const index = this.index;
    const unitOf = this.bank.unitOf;
    for (let k = 0; k < batch.count; k++) {
      const ch = batch.peakChannel[k];
      const m = matcher.match(batch, k, noiseUv, index.lists, index.offset(ch), index.counts[ch]);
      batch.unitId[k] = m.accepted ? unitOf[m.template] : -1;
    }
  }

  private setUp(batch: SnippetBatch): void {
    const bank = this.bank;
    const maxShift = this.options.maxShift;
    checkEarlyWindow(this.stage, batch.samplesBefore, batch.samplesAfter, bank.windowBefore, maxShift);
    const after = Math.min(bank.windowAfter, batch.samplesAfter - maxShift);
    this.matcher = new TemplateMatcher(bank, this.channelCount, Math.max(this.maxSnippetRows, batch.neighbourCapacity), this.options, { before: bank.windowBefore, after });
    this.samplesAfter = batch.samplesAfter;
  }
}
