import type { SnippetBatch } from '../../core/spikes.js';

/** What happened to units during maintenance, for the feature tracker to follow. */
export type UnitEvent =
  | { readonly kind: 'created'; readonly unitId: number; readonly streamTimeS: number }
  | { readonly kind: 'merged'; readonly survivor: number; readonly absorbed: number; readonly streamTimeS: number }
  | { readonly kind: 'split'; readonly parent: number; readonly unitId: number; readonly streamTimeS: number }
  | { readonly kind: 'retired'; readonly unitId: number; readonly streamTimeS: number };

/**
 * Gives each detected spike a unit id, synchronously, within the block that delivered it:
 * template matching against a Kilosort folder, or online clustering from a cold start.
 */
export interface UnitAssigner {
  readonly kind: 'templates' | 'online';
  /** Writes `batch.unitId[k]` for every snippet (−1: matches no unit). Allocates nothing. */
  assign(batch: SnippetBatch, noiseUv: Float32Array): void;
  /** Slow bookkeeping (merges, splits, re-centring), a few times a second; returns what changed. */
  maintain(streamTimeS: number): readonly UnitEvent[];
  /** Units currently alive. */
  unitIds(): number[];
  /** Where a unit lives: its peak channel, or −1. */
  peakChannelOf(unitId: number): number;
}
