/**
 * Spike snippets of known units without the detection pipeline: units on a two-column probe, each
 * with a biphasic waveform scaled per channel by a footprint falling with distance, plus white
 * Gaussian noise. Snippets are cut the way the pipeline's snippet stage cuts them (rows = the peak
 * channel's neighbourhood, peak channel first; trough at samplesBefore). Independent of the code
 * under test.
 */
import type { SnippetBatch } from '../../src/core/spikes.js';
import { buildLayout, type ChannelLayout } from '../../src/probe/channel-layout.js';
import { neighbourhoodsByRadius, type Neighbourhoods } from '../../src/probe/neighbourhoods.js';
import { TemplateBank } from '../../src/classify/units/template-bank.js';

export const RATE_HZ = 30000;
export const BEFORE = 30;
export const AFTER = 60;
export const LENGTH = BEFORE + AFTER + 1;

/** Two columns 32 µm apart, rows every 20 µm (a Neuropixels-like staggering without the stagger). */
export function twoColumnLayout(channels: number): ChannelLayout {
  return buildLayout(
    `two-column-${channels}`,
    Array.from({ length: channels }, (_, i) => ({ id: String(i), xUm: (i % 2) * 32, yUm: Math.floor(i / 2) * 20, shankId: '0' })),
  );
}

export interface WorldUnit {
  readonly id: number;
  readonly xUm: number;
  readonly yUm: number;
  readonly amplitudeUv: number;
  /** Trough-to-peak, ms. */
  readonly widthMs: number;
  /** Peak amplitude (µV) per channel. */
  readonly footprintUv: Float64Array;
  readonly peakChannel: number;
}

export function unitWaveform(tMs: number, widthMs: number): number {
  return -Math.exp(-0.5 * (tMs / (0.05 + 0.06 * widthMs)) ** 2) + 0.35 * Math.exp(-0.5 * ((tMs - widthMs) / (0.08 + 0.25 * widthMs)) ** 2);
}

export function makeUnit(layout: ChannelLayout, id: number, xUm: number, yUm: number, amplitudeUv: number, widthMs: number): WorldUnit {
  const footprintUv = new Float64Array(layout.channelCount);
  let peakChannel = 0;
  for (let c = 0; c < layout.channelCount; c++) {
    const d2 = (layout.xUm[c] - xUm) ** 2 + (layout.yUm[c] - yUm) ** 2 + 15 ** 2;
    footprintUv[c] = amplitudeUv / (1 + d2 / 40 ** 2);
    if (footprintUv[c] > footprintUv[peakChannel]) peakChannel = c;
  }
  return { id, xUm, yUm, amplitudeUv, widthMs, footprintUv, peakChannel };
}

export function allocateSnippets(hoods: Neighbourhoods, capacity: number): SnippetBatch {
  return {
    streamId: 'world',
    sampleRateHz: RATE_HZ,
    count: 0,
    peakSampleIndex: new Float64Array(capacity),
    peakChannel: new Int32Array(capacity),
    amplitudeUv: new Float32Array(capacity),
    unitId: new Int32Array(capacity).fill(-1),
    sourceReceiveTimeNs: 0,
    samplesBefore: BEFORE,
    samplesAfter: AFTER,
    snippetLength: LENGTH,
    neighbourCapacity: hoods.maxSize,
    channels: new Int32Array(capacity * hoods.maxSize),
    waveformsUv: new Float32Array(capacity * hoods.maxSize * LENGTH),
  };
}

export function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * Appends a spike of `unit` at `sampleIndex` to the batch: footprint × waveform × `scale`, shifted
 * by `subSampleShift` samples, plus noise σ `noiseUv`. Its peak channel is the unit's.
 */
export function addSpike(batch: SnippetBatch, hoods: Neighbourhoods, unit: WorldUnit, sampleIndex: number, noiseUv: number, random: () => number, scale = 1, subSampleShift = 0): void {
  const k = batch.count++;
  const rows = batch.neighbourCapacity;
  const ch0 = unit.peakChannel;
  batch.peakSampleIndex[k] = sampleIndex;
  batch.peakChannel[k] = ch0;
  batch.amplitudeUv[k] = -unit.amplitudeUv * scale;
  batch.unitId[k] = -1;
  const start = hoods.offsets[ch0];
  const n = hoods.offsets[ch0 + 1] - start;
  for (let r = 0; r < rows; r++) {
    const base = (k * rows + r) * LENGTH;
    if (r >= n) {
      batch.channels[k * rows + r] = -1;
      batch.waveformsUv.fill(0, base, base + LENGTH);
      continue;
    }
    const ch = hoods.indices[start + r];
    batch.channels[k * rows + r] = ch;
    for (let t = 0; t < LENGTH; t++) {
      const tMs = ((t - BEFORE - subSampleShift) * 1000) / RATE_HZ;
      batch.waveformsUv[base + t] = scale * unit.footprintUv[ch] * unitWaveform(tMs, unit.widthMs) + noiseUv * gaussian(random);
    }
  }
}

export function worldHoods(layout: ChannelLayout, radiusUm = 60): Neighbourhoods {
  return neighbourhoodsByRadius(layout, radiusUm);
}

/** A bank of one template: the unit's noise-free waveform on its peak channel's neighbourhood (up to 12 rows), matching window −before…+after. */
export function bankOfUnit(hoods: Neighbourhoods, unit: WorldUnit, windowBefore: number, windowAfter: number): TemplateBank {
  const bank = new TemplateBank(1, 12, LENGTH, BEFORE, windowBefore, windowAfter);
  const start = hoods.offsets[unit.peakChannel];
  const rows = Math.min(12, hoods.offsets[unit.peakChannel + 1] - start);
  bank.active[0] = 1;
  bank.rowCount[0] = rows;
  bank.peakChannel[0] = unit.peakChannel;
  bank.spikeCount[0] = 1000;
  for (let r = 0; r < rows; r++) {
    const ch = hoods.indices[start + r];
    bank.channels[r] = ch;
    bank.rowWeight[r] = 1000;
    for (let t = 0; t < LENGTH; t++) bank.data[r * LENGTH + t] = unit.footprintUv[ch] * unitWaveform(((t - BEFORE) * 1000) / RATE_HZ, unit.widthMs);
    bank.refreshRowEnergy(0, r);
  }
  return bank;
}

/** The short snippets of a full batch: each row's first BEFORE + 1 + earlyAfter samples, as snippets.ts cuts them. */
export function shortSnippets(full: SnippetBatch, earlyAfter: number): SnippetBatch {
  const length = full.samplesBefore + 1 + earlyAfter;
  const rows = full.neighbourCapacity;
  const waveformsUv = new Float32Array(full.peakSampleIndex.length * rows * length);
  for (let k = 0; k < full.count; k++) {
    for (let r = 0; r < rows; r++) waveformsUv.set(full.waveformsUv.subarray((k * rows + r) * full.snippetLength, (k * rows + r) * full.snippetLength + length), (k * rows + r) * length);
  }
  return { ...full, peakSampleIndex: full.peakSampleIndex.slice(), peakChannel: full.peakChannel.slice(), amplitudeUv: full.amplitudeUv.slice(), unitId: new Int32Array(full.unitId.length).fill(-1), channels: full.channels.slice(), samplesAfter: earlyAfter, snippetLength: length, waveformsUv };
}
