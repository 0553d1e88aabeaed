/**
 * Gains and ADC resolution of imec probes, from a SpikeGLX meta. The values written in the meta
 * always win; per-type defaults (from SpikeGLX's documentation and python-neo's probe table) fill
 * in only what older metas leave out:
 *
 * | probe type | `~imroTbl` entry | AP / LF gain | imMaxInt default |
 * |---|---|---|---|
 * | 3A (header `(serial,3,n)`) | `chan bank ref ap lf` | per channel | 512 |
 * | NP1.0 family: 0, 1020, 1030, 1100, 1120–1123, 1200, 1300 | `chan bank ref ap lf hp` | per channel | 512 |
 * | NP1110 (UHD2) | header `(1110,col,ref,ap,lf,hp)` | header, all channels | 512 |
 * | NP2.0: 21, 24 | no gain | 80 (or `imChan0apGain`) | 8192 |
 * | NP20xx: 2003, 2004, 2013, 2014, 2020, 2021 | no gain | 100 (or `imChan0apGain`) | 2048 |
 * | anything else | — | `imChan0apGain` / `imChan0lfGain` | `imMaxInt` required |
 */
import { fileMalformed, fileUnsupported } from '../file-errors.js';
import type { MetaList, SpikeGlxMeta } from './meta.js';

const NP1_FAMILY = new Set([0, 1020, 1030, 1100, 1120, 1121, 1122, 1123, 1200, 1300]);
const NP2_FIXED_80 = new Set([21, 24]);

export interface ImecGains {
  /** A human-readable probe type: `3A`, `0`, `1110`, `2020`… */
  readonly probeType: string;
  readonly maxInt: number;
  readonly rangeMaxV: number;
  /** Gain of the AP channel whose acquisition index (= imro entry) is `channel`. */
  apGain(channel: number): number;
  /** Gain of the LF channel whose LF index (acquisition index − AP count) is `channel`. */
  lfGain(channel: number): number;
  /** How the gains were found, for notes. */
  readonly source: string;
}

export function imecGains(meta: SpikeGlxMeta): ImecGains {
  const file = meta.file;
  const imro = meta.list('~imroTbl');
  const rangeMaxV = meta.number('imAiRangeMax', { positive: true, why: 'the imec ADC range in volts sets the µV scale' });
  let type: number | null = null;
  let probeType: string;
  if (imro && imro.header.length === 3) {
    probeType = '3A';
  } else {
    const fromMeta = meta.get('imDatPrb_type');
    const token = (fromMeta ?? imro?.header[0] ?? '').replace(/^NP/i, '');
    type = Number(token);
    if (token === '' || !Number.isInteger(type)) {
      throw fileMalformed({ file, field: fromMeta !== undefined ? meta.where('imDatPrb_type') : '~imroTbl header', expected: 'an integer probe type', actual: JSON.stringify(fromMeta ?? imro?.header[0] ?? '') });
    }
    probeType = String(type);
  }

  const chan0Ap = meta.optionalNumber('imChan0apGain', { positive: true });
  const chan0Lf = meta.optionalNumber('imChan0lfGain', { positive: true });
  const defaultMaxInt =
    probeType === '3A' || (type !== null && (NP1_FAMILY.has(type) || type === 1110)) ? 512 : type !== null && NP2_FIXED_80.has(type) ? 8192 : type !== null && type >= 2000 && type < 3000 ? 2048 : null;
  const maxInt = meta.has('imMaxInt') || defaultMaxInt === null ? meta.number('imMaxInt', { positive: true, why: `probe type ${probeType} has no default ADC resolution` }) : defaultMaxInt;

  if (probeType === '3A' || (type !== null && NP1_FAMILY.has(type))) {
    const table = perChannelGains(meta, imro, probeType);
    return { probeType, maxInt, rangeMaxV, apGain: (c) => table.gain(c, 3, 'AP'), lfGain: (c) => table.gain(c, 4, 'LF'), source: '~imroTbl per-channel gains' };
  }
  if (type === 1110) {
    if (!imro || imro.header.length < 5) {
      throw fileMalformed({ file, field: meta.where('~imroTbl'), expected: 'a header (1110,colMode,ref,apGain,lfGain,apFilter)', actual: JSON.stringify(imro?.header.join(',') ?? 'nothing') });
    }
    const ap = gainValue(imro.header[3], file, meta.where('~imroTbl') + ' header apGain');
    const lf = gainValue(imro.header[4], file, meta.where('~imroTbl') + ' header lfGain');
    return { probeType, maxInt, rangeMaxV, apGain: () => ap, lfGain: () => lf, source: '~imroTbl header gains' };
  }
  if (type !== null && (NP2_FIXED_80.has(type) || (type >= 2000 && type < 3000))) {
    const fixed = chan0Ap ?? (NP2_FIXED_80.has(type) ? 80 : 100);
    return {
      probeType,
      maxInt,
      rangeMaxV,
      apGain: () => fixed,
      lfGain: () => chan0Lf ?? fixed,
      source: chan0Ap !== null ? 'imChan0apGain' : `the fixed gain ${fixed} of probe type ${probeType}`,
    };
  }
  if (chan0Ap === null && chan0Lf === null) {
    throw fileUnsupported(
      { file, field: meta.has('imDatPrb_type') ? meta.where('imDatPrb_type') : 'imDatPrb_type', expected: 'a known probe type, or imChan0apGain/imChan0lfGain in the meta', actual: probeType },
      'cannot tell the gain of this probe type',
    );
  }
  const missing = (band: string) => () => {
    throw fileUnsupported({ file, field: `imChan0${band}Gain`, expected: `the ${band.toUpperCase()} gain of probe type ${probeType}` }, 'missing key');
  };
  return {
    probeType,
    maxInt,
    rangeMaxV,
    apGain: chan0Ap !== null ? () => chan0Ap : missing('ap'),
    lfGain: chan0Lf !== null ? () => chan0Lf : missing('lf'),
    source: 'imChan0apGain/imChan0lfGain (uniform gain assumed)',
  };
}

function gainValue(text: string | undefined, file: string, field: string): number {
  const value = Number(text);
  if (text === undefined || text.trim() === '' || !(value > 0) || !Number.isFinite(value)) {
    throw fileMalformed({ file, field, expected: 'a positive gain', actual: JSON.stringify(text ?? 'nothing') });
  }
  return value;
}

function perChannelGains(meta: SpikeGlxMeta, imro: MetaList | null, probeType: string) {
  const file = meta.file;
  if (!imro) {
    throw fileMalformed({ file, field: '~imroTbl', expected: `the readout table (per-channel gains of probe type ${probeType})` }, 'missing key');
  }
  const byChannel = new Map<number, string[]>();
  imro.entries.forEach((entry) => {
    const fields = entry.trim().split(/\s+/);
    byChannel.set(Number(fields[0]), fields);
  });
  return {
    gain(channel: number, column: number, band: string): number {
      const fields = byChannel.get(channel);
      const field = `${meta.where('~imroTbl')} entry for channel ${channel}`;
      if (!fields) throw fileMalformed({ file, field, expected: `an entry (chan bank ref apGain lfGain …) for each saved channel; the table has ${imro.entries.length}` }, 'missing entry');
      if (fields.length <= column) {
        throw fileMalformed({ file, field, expected: `at least ${column + 1} fields (chan bank ref apGain lfGain …)`, actual: JSON.stringify(fields.join(' ')) });
      }
      return gainValue(fields[column], file, `${field} ${band} gain`);
    },
  };
}
