/**
 * Per-unit features for every unit the assigner names: fed with each assigned spike batch
 * (synchronously, allocation-free except the first spike of a new unit), told about merges, and
 * read as owned UnitSummary snapshots a few times a second.
 */
import type { SnippetBatch } from '../../core/spikes.js';
import type { ClassificationSummary, UnitSummary } from '../../core/units.js';
import type { ChannelLayout } from '../../probe/channel-layout.js';
import { troughToPeakMs } from '../features/waveform-metrics.js';
import type { UnitEvent } from '../units/unit-assigner.js';
import { UnitFeatures, type FeatureLimits } from './unit-features.js';

/** A depth range of the probe (contact y, µm) and the layer it lies in. */
export interface LayerRange {
  readonly name: string;
  readonly fromUm: number;
  readonly toUm: number;
}

export class UnitTracker {
  private readonly features = new Map<number, UnitFeatures>();
  /** Stream time of the newest spike or block seen, s. */
  streamTimeS = 0;

  constructor(
    private readonly layout: ChannelLayout,
    readonly limits: FeatureLimits,
    private readonly layers: readonly LayerRange[] = [],
  ) {}

  /** Takes the assigned spikes of one batch (unitId ≥ 0); unassigned ones are skipped. */
  onSpikes(batch: SnippetBatch): void {
    const rows = batch.neighbourCapacity;
    for (let k = 0; k < batch.count; k++) {
      const id = batch.unitId[k];
      const t = batch.peakSampleIndex[k] / batch.sampleRateHz;
      if (t > this.streamTimeS) this.streamTimeS = t;
      if (id < 0) continue;
      let f = this.features.get(id);
      if (!f) {
        // The unit's rows: the channels of its first snippet (its peak channel's neighbourhood).
        const channels: number[] = [];
        for (let q = 0; q < rows; q++) if (batch.channels[k * rows + q] >= 0) channels.push(batch.channels[k * rows + q]);
        f = new UnitFeatures(id, batch.streamId, batch.sampleRateHz, channels, batch.snippetLength, batch.samplesBefore, this.limits);
        this.features.set(id, f);
      }
      f.addTime(t);
      f.addSnippet(batch.channels, batch.waveformsUv, k * rows, rows, batch.snippetLength);
    }
  }

  /** Follows the assigner's merges (the survivor takes in the absorbed unit's features) and grows rings. */
  maintain(events: readonly UnitEvent[], streamTimeS: number): void {
    if (streamTimeS > this.streamTimeS) this.streamTimeS = streamTimeS;
    for (const e of events) {
      if (e.kind === 'retired') this.features.delete(e.unitId);
      if (e.kind !== 'merged') continue;
      const absorbed = this.features.get(e.absorbed);
      if (!absorbed) continue;
      const survivor = this.features.get(e.survivor);
      if (survivor) survivor.absorb(absorbed);
      else this.features.set(e.survivor, absorbed);
      this.features.delete(e.absorbed);
    }
    for (const f of this.features.values()) f.growIfNeeded();
  }

  get(unitId: number): UnitFeatures | undefined {
    return this.features.get(unitId);
  }

  unitIds(): number[] {
    return [...this.features.keys()].sort((a, b) => a - b);
  }

  get size(): number {
    return this.features.size;
  }

  peakChannelOf(unitId: number): number {
    const f = this.features.get(unitId);
    if (!f) return -1;
    const r = f.peakRow();
    return r < 0 ? -1 : f.rowChannels[r];
  }

  /** The layer of a channel's depth, or null. */
  layerOfChannel(channel: number): string | null {
    if (channel < 0) return null;
    const y = this.layout.yUm[channel];
    for (const l of this.layers) if (y >= l.fromUm && y < l.toUm) return l.name;
    return null;
  }

  /** The unit's mean peak-channel waveform (µV), or null before its first spike. */
  meanPeakWaveform(unitId: number): Float32Array | null {
    const f = this.features.get(unitId);
    if (!f) return null;
    const r = f.peakRow();
    return r < 0 ? null : f.meanRow(r);
  }

  /** Owned snapshot of one unit. */
  summary(unitId: number, classification: ClassificationSummary | null): UnitSummary | null {
    const f = this.features.get(unitId);
    if (!f) return null;
    const r = f.peakRow();
    const waveform = r >= 0 ? f.meanRow(r) : null;
    const peakChannel = r >= 0 ? f.rowChannels[r] : -1;
    const spanS = Math.max(this.streamTimeS, f.lastSpikeS) - f.firstSpikeS;
    return {
      unitId,
      streamId: f.streamId,
      peakChannel,
      spikeCount: f.spikeCount,
      firingRateHz: spanS > 0 ? f.spikeCount / spanS : 0,
      troughToPeakMs: waveform ? troughToPeakMs(waveform, f.sampleRateHz, f.samplesBefore) : null,
      meanWaveformUv: waveform ? plainArray(waveform) : [],
      acg: plainArray(f.acg),
      layer: this.layerOfChannel(peakChannel),
      classification,
      tag: null,
    };
  }
}

/**
 * A typed array copied into a plain one with a counted loop: Array.from goes through the iterator
 * protocol, ~10× slower and allocating per element, and the bus's unit table copies ~300 units'
 * waveforms and ACGs every period.
 */
function plainArray(values: ArrayLike<number>): number[] {
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i];
  return out;
}
