/**
 * The tag decision from a unit's statistics and the configured criteria. Every failed criterion is
 * named, so that the operator sees why a unit was not tagged.
 */
import type { TagCriteria } from './optotag-options.js';
import type { TagStats } from './tag-accumulator.js';

export type TagCriterion = 'salt' | 'waveform' | 'excitation' | 'reliability' | 'latency' | 'jitter' | 'allen';

export interface TagDecision {
  readonly tagged: boolean;
  /** Criteria the unit failed (empty when tagged). A statistic that is undefined fails its criterion. */
  readonly failed: readonly TagCriterion[];
}

/** `waveformR` is null when no waveforms were available: the waveform criterion is then not applied. */
export function decideTag(stats: TagStats, waveformR: number | null, criteria: TagCriteria): TagDecision {
  const failed: TagCriterion[] = [];
  if (!(stats.saltP !== null && stats.saltP < criteria.saltAlpha)) failed.push('salt');
  if (criteria.minWaveformR !== null && waveformR !== null && !(waveformR > criteria.minWaveformR)) failed.push('waveform');
  if (criteria.requireExcitation && !(stats.reliability !== null && stats.baselineReliability !== null && stats.reliability > stats.baselineReliability)) {
    failed.push('excitation');
  }
  if (criteria.minReliability !== null && !(stats.reliability !== null && stats.reliability >= criteria.minReliability)) failed.push('reliability');
  if (
    (criteria.minLatencyMs !== null || criteria.maxLatencyMs !== null) &&
    !(
      stats.latencyMs !== null &&
      (criteria.minLatencyMs === null || stats.latencyMs >= criteria.minLatencyMs) &&
      (criteria.maxLatencyMs === null || stats.latencyMs <= criteria.maxLatencyMs)
    )
  ) {
    failed.push('latency');
  }
  if (criteria.maxJitterMs !== null && !(stats.jitterMs !== null && stats.jitterMs <= criteria.maxJitterMs)) failed.push('jitter');
  if (criteria.minAllenRatio !== null && !(stats.allenRatio !== null && stats.allenRatio > criteria.minAllenRatio)) failed.push('allen');
  return { tagged: failed.length === 0, failed };
}
