/**
 * What a SpikeGLX meta says about its .bin: the saved channels in file order, their class
 * (imec AP / LF / SY, nidq MN / MA / XA / DW), names, µV per count, and the geometry.
 *
 * File order is fixed by the counts `snsApLfSy` (imec) or `snsMnMaXaDw` (nidq): AP, LF, SY or MN,
 * MA, XA, DW. `snsSaveChanSubset` gives each saved channel's acquisition index, which selects its
 * `~imroTbl` entry (LF entries: acquisition index − acquired AP count) and names it.
 *
 * Scale: imec µV/count = imAiRangeMax / imMaxInt / gain × 1e6 (gains in `imec-gains.ts`);
 * nidq µV/count = niAiRangeMax / niMaxInt / gain × 1e6 with gain niMNGain (MN), niMAGain (MA),
 * 1 (XA).
 */
import { buildLayout, type ChannelLayout } from '../../probe/channel-layout.js';
import { fileMalformed, fileUnsupported } from '../file-errors.js';
import type { ChannelSelection } from '../recording-reader.js';
import { imecGains } from './imec-gains.js';
import { parseChannelSubset, type SpikeGlxMeta } from './meta.js';

export type SpikeGlxChannelClass = 'AP' | 'LF' | 'SY' | 'MN' | 'MA' | 'XA' | 'DW';

export interface SpikeGlxChannel {
  /** Word position within a frame of the .bin. */
  readonly fileIndex: number;
  /** Acquisition channel index (from snsSaveChanSubset). */
  readonly acqIndex: number;
  readonly kind: SpikeGlxChannelClass;
  readonly name: string;
  /** µV per count; null for status and digital words (and for undelivered channels whose scale the meta omits). */
  readonly uvPerCount: number | null;
}

export interface SpikeGlxStream {
  readonly type: 'imec' | 'nidq';
  readonly sampleRateHz: number;
  /** Words per frame in the .bin. */
  readonly savedChannelCount: number;
  readonly channels: readonly SpikeGlxChannel[];
  /** The channels delivered for the selection, in file order. */
  readonly delivered: readonly SpikeGlxChannel[];
  readonly firstSample: number;
  readonly fileSizeBytes: number | null;
  readonly probe: string;
  readonly layout: ChannelLayout | null;
  readonly notes: readonly string[];
}

export function describeSpikeGlxStream(meta: SpikeGlxMeta, selection: ChannelSelection = 'neural'): SpikeGlxStream {
  const file = meta.file;
  const type = meta.string('typeThis', 'imec, nidq or obx');
  if (type !== 'imec' && type !== 'nidq') {
    throw fileUnsupported({ file, field: meta.where('typeThis'), expected: '"imec" or "nidq"', actual: JSON.stringify(type) }, 'stream type not read by optoloop');
  }
  const notes: string[] = [];
  const saved = meta.number('nSavedChans', { integer: true, positive: true, why: 'words per frame of the .bin' });
  const sampleRateHz = meta.number(type === 'imec' ? 'imSampRate' : 'niSampRate', { positive: true, why: 'the sample rate' });
  const subsetText = meta.get('snsSaveChanSubset') ?? 'all';
  const acq = subsetText.trim() === 'all' ? Array.from({ length: saved }, (_, i) => i) : parseChannelSubset(subsetText, file, meta.where('snsSaveChanSubset'));
  if (acq.length !== saved) {
    throw fileMalformed({ file, field: meta.where('snsSaveChanSubset'), expected: `${saved} channels (nSavedChans)`, actual: `${acq.length} (${JSON.stringify(subsetText.slice(0, 40))})` });
  }
  const chanMap = meta.list('~snsChanMap');
  const mapNames = chanMap && chanMap.entries.length === saved ? chanMap.entries.map((e) => e.split(';')[0].trim()) : null;

  const channels: SpikeGlxChannel[] = [];
  if (type === 'imec') {
    const [nAp, nLf, nSy] = meta.integers('snsApLfSy', 3, 'AP, LF and SY words per frame');
    if (nAp + nLf + nSy !== saved) {
      throw fileMalformed({ file, field: meta.where('snsApLfSy'), expected: `counts adding up to nSavedChans (${saved})`, actual: `${nAp}+${nLf}+${nSy}` });
    }
    const acqCounts = meta.has('acqApLfSy') ? meta.integers('acqApLfSy', 3) : null;
    const gains = nAp + nLf > 0 ? imecGains(meta) : null;
    const lfBase = acqCounts ? acqCounts[0] : (meta.list('~imroTbl')?.entries.length ?? 0);
    for (let i = 0; i < saved; i++) {
      const kind: SpikeGlxChannelClass = i < nAp ? 'AP' : i < nAp + nLf ? 'LF' : 'SY';
      const a = acq[i];
      let uvPerCount: number | null = null;
      if (kind !== 'SY') {
        const gain = kind === 'AP' ? gains!.apGain(a) : gains!.lfGain(a - lfBase);
        uvPerCount = (gains!.rangeMaxV / gains!.maxInt / gain) * 1e6;
      }
      const name = mapNames?.[i] ?? (kind === 'AP' ? `AP${a}` : kind === 'LF' ? `LF${a - lfBase}` : `SY${i - nAp - nLf}`);
      channels.push({ fileIndex: i, acqIndex: a, kind, name, uvPerCount });
    }
    if (gains) notes.push(`probe type ${gains.probeType}: gains from ${gains.source}, imAiRangeMax ${gains.rangeMaxV} V, imMaxInt ${gains.maxInt}`);
  } else {
    const [nMn, nMa, nXa, nDw] = meta.integers('snsMnMaXaDw', 4, 'MN, MA, XA and DW words per frame');
    if (nMn + nMa + nXa + nDw !== saved) {
      throw fileMalformed({ file, field: meta.where('snsMnMaXaDw'), expected: `counts adding up to nSavedChans (${saved})`, actual: `${nMn}+${nMa}+${nXa}+${nDw}` });
    }
    const analogDelivered = selection === 'analog' ? nMn + nMa + nXa : nMn;
    const range = analogDelivered > 0 ? meta.number('niAiRangeMax', { positive: true, why: 'the NI ADC range in volts sets the µV scale' }) : 0;
    let maxInt = 32768;
    if (meta.has('niMaxInt')) maxInt = meta.number('niMaxInt', { positive: true });
    else if (analogDelivered > 0) notes.push('niMaxInt absent: 32768 assumed (16-bit NI ADC)');
    const mnGain = nMn > 0 ? meta.number('niMNGain', { positive: true, why: 'gain of the MN (neural) channels' }) : 1;
    // MA gain: required when MA channels are delivered; otherwise read if present (for `channels`).
    const maGain =
      nMa > 0 && (selection === 'analog' || meta.has('niMAGain')) ? meta.number('niMAGain', { positive: true, why: 'gain of the MA channels' }) : null;
    const rangeKnown = range > 0 || meta.has('niAiRangeMax');
    const rangeV = range > 0 ? range : rangeKnown ? meta.number('niAiRangeMax', { positive: true }) : 0;
    for (let i = 0; i < saved; i++) {
      const kind: SpikeGlxChannelClass = i < nMn ? 'MN' : i < nMn + nMa ? 'MA' : i < nMn + nMa + nXa ? 'XA' : 'DW';
      const gain = kind === 'MN' ? mnGain : kind === 'MA' ? maGain : 1;
      // null: a digital word, or a scale the meta does not give (only possible for channels not delivered).
      const uvPerCount = kind === 'DW' || gain === null || !rangeKnown ? null : (rangeV / maxInt / gain) * 1e6;
      const name = mapNames?.[i] ?? `${kind}${acq[i]}`;
      channels.push({ fileIndex: i, acqIndex: acq[i], kind, name, uvPerCount });
    }
  }

  const neural = channels.filter((c) => c.kind === 'AP' || c.kind === 'LF' || c.kind === 'MN');
  const delivered = selection === 'analog' ? channels.filter((c) => c.uvPerCount !== null) : neural;
  if (delivered.length === 0) {
    throw fileUnsupported(
      { file, field: type === 'imec' ? meta.where('snsApLfSy') : meta.where('snsMnMaXaDw'), expected: selection === 'neural' ? 'at least one neural channel (AP, LF or MN); choose channels "analog" for auxiliary inputs' : 'at least one analog channel' },
      'no channels to deliver',
    );
  }
  const firstSample = meta.has('firstSample') ? meta.number('firstSample', { integer: true, nonNegative: true }) : 0;
  if (!meta.has('firstSample')) notes.push('firstSample absent: the file is taken to start at sample 0');
  const fileSizeBytes = meta.optionalNumber('fileSizeBytes', { integer: true, nonNegative: true });
  const probe = type === 'imec' ? meta.get('imDatPrb_pn') ?? `imec type ${meta.get('imDatPrb_type') ?? '3A'}` : 'nidq';
  const layout = type === 'imec' ? geometry(meta, delivered, probe) : null;
  return { type, sampleRateHz, savedChannelCount: saved, channels, delivered, firstSample, fileSizeBytes, probe, layout, notes };
}

/**
 * `~snsGeomMap=(partNumber,nShanks,shankSpacingUm,shankWidthUm)(s:x:z:u)…`, one entry per saved
 * neural channel; x is within the shank, so the probe-plane x is x + s × spacing.
 */
function geometry(meta: SpikeGlxMeta, delivered: readonly SpikeGlxChannel[], probe: string): ChannelLayout | null {
  const file = meta.file;
  const geom = meta.list('~snsGeomMap');
  if (!geom) return null;
  const field = meta.where('~snsGeomMap');
  const spacing = Number(geom.header[2] ?? '0');
  if (geom.header.length < 3 || !Number.isFinite(spacing)) {
    throw fileMalformed({ file, field: `${field} header`, expected: '(partNumber,nShanks,shankSpacing,shankWidth)', actual: JSON.stringify(geom.header.join(',')) });
  }
  if (geom.entries.length !== delivered.length) {
    throw fileMalformed({ file, field, expected: `one entry per saved neural channel (${delivered.length})`, actual: `${geom.entries.length}` });
  }
  const channels = geom.entries.map((entry, i) => {
    const parts = entry.split(':').map(Number);
    if (parts.length < 3 || parts.some((p) => !Number.isFinite(p))) {
      throw fileMalformed({ file, field: `${field} entry ${i}`, expected: 'shank:x:z:used', actual: JSON.stringify(entry) });
    }
    const [shank, x, z] = parts;
    return { id: delivered[i].name, xUm: x + shank * spacing, yUm: z, shankId: String(shank) };
  });
  return buildLayout(geom.header[0] || probe, channels);
}
