/**
 * The header of an Intan `.rhd` file (traditional, header-attached format, versions 1.x–3.x), as
 * laid out in ../shared/docs/protocols.md §6: little-endian; floats are f32; QString = u32 byte
 * length (0xFFFFFFFF = null) then UTF-16LE. Version-dependent fields: temperature sensor count
 * (≥ 1.1), eval board mode (≥ 1.3), reference channel (≥ 2.0); timestamps are i32 from 1.2 (u32
 * before); 128 samples per data block from 2.0 (60 before).
 */
import { fileMalformed, fileTruncated, fileUnsupported } from '../file-errors.js';
import { readExactly } from '../fs-sync.js';

export const RHD_MAGIC = 0xc6912702;
export const RHS_MAGIC = 0xd69127ac;

export type RhdSignalType = 'amplifier' | 'aux' | 'supply' | 'adc' | 'digital-in' | 'digital-out';
const SIGNAL_TYPES: readonly RhdSignalType[] = ['amplifier', 'aux', 'supply', 'adc', 'digital-in', 'digital-out'];

export interface RhdChannel {
  readonly nativeName: string;
  readonly customName: string;
  readonly groupName: string;
  readonly nativeOrder: number;
  readonly customOrder: number;
  readonly signalType: RhdSignalType;
  readonly chipChannel: number;
  readonly boardStream: number;
  readonly impedanceMagnitudeOhm: number;
  readonly impedancePhaseDeg: number;
}

export interface RhdHeader {
  readonly versionMajor: number;
  readonly versionMinor: number;
  readonly sampleRateHz: number;
  readonly dspEnabled: boolean;
  readonly actualLowerBandwidthHz: number;
  readonly actualUpperBandwidthHz: number;
  readonly notchFilterMode: number;
  readonly notes: readonly string[];
  readonly tempSensorCount: number;
  readonly evalBoardMode: number;
  readonly referenceChannel: string;
  /** Enabled channels, in file order, of every signal type. */
  readonly channels: readonly RhdChannel[];
  readonly samplesPerBlock: number;
  readonly timestampsSigned: boolean;
  /** Bytes from the start of the file to the first data block. */
  readonly headerBytes: number;
  readonly bytesPerBlock: number;
  /** Enabled channel counts per signal type. */
  readonly counts: Readonly<Record<RhdSignalType, number>>;
}

/** Reads fields from the start of a file, fetching more bytes as needed; errors name the field. */
class HeaderCursor {
  private buffer = new Uint8Array(65536);
  private view = new DataView(this.buffer.buffer);
  private loaded = 0;
  pos = 0;

  constructor(
    private readonly fd: number,
    private readonly file: string,
    private readonly fileSize: number,
  ) {}

  private need(bytes: number, field: string): void {
    const end = this.pos + bytes;
    if (end <= this.loaded) return;
    if (end > this.fileSize) {
      throw fileTruncated({ file: this.file, offset: this.pos, field: `header field ${field}`, expected: `${bytes} bytes`, actual: `${Math.max(0, this.fileSize - this.pos)} before the end of the file` });
    }
    if (end > this.buffer.length) {
      const grown = new Uint8Array(Math.max(end, this.buffer.length * 2));
      grown.set(this.buffer.subarray(0, this.loaded));
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    const upTo = Math.min(this.fileSize, this.buffer.length);
    readExactly(this.fd, this.file, this.buffer, this.loaded, upTo - this.loaded, this.loaded, 'header');
    this.loaded = upTo;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  i16(field: string): number {
    this.need(2, field);
    const v = this.view.getInt16(this.pos, true);
    this.pos += 2;
    return v;
  }

  f32(field: string): number {
    this.need(4, field);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  qstring(field: string): string {
    const at = this.pos;
    const length = this.u32(`${field} (QString length)`);
    if (length === 0xffffffff) return '';
    if (length % 2 !== 0) {
      throw fileMalformed({ file: this.file, offset: at, field: `header field ${field}`, expected: 'an even QString byte length (UTF-16)', actual: String(length) });
    }
    this.need(length, `${field} (${length} bytes of UTF-16 text)`);
    const text = new TextDecoder('utf-16le').decode(this.buffer.subarray(this.pos, this.pos + length));
    this.pos += length;
    return text;
  }
}

export function readRhdHeader(fd: number, file: string, fileSize: number): RhdHeader {
  const c = new HeaderCursor(fd, file, fileSize);
  const magic = c.u32('magic number');
  if (magic !== RHD_MAGIC) {
    if (magic === RHS_MAGIC) {
      throw fileUnsupported({ file, offset: 0, field: 'magic number', expected: '0xc6912702 (an RHD file)', actual: '0xd69127ac (an RHS stimulation-controller file)' });
    }
    throw fileMalformed({ file, offset: 0, field: 'magic number', expected: '0xc6912702 (an Intan RHD file)', actual: `0x${magic.toString(16).padStart(8, '0')}` });
  }
  const major = c.i16('version major');
  const minor = c.i16('version minor');
  if (major < 1 || major > 3) {
    throw fileUnsupported({ file, offset: 4, field: 'version', expected: 'an RHD format version 1.x, 2.x or 3.x', actual: `${major}.${minor}` });
  }
  const atLeast = (ma: number, mi: number) => major > ma || (major === ma && minor >= mi);
  const sampleRateHz = c.f32('sample rate');
  if (!(sampleRateHz > 0) || !Number.isFinite(sampleRateHz)) {
    throw fileMalformed({ file, offset: c.pos - 4, field: 'header field sample rate', expected: 'a positive number of Hz', actual: String(sampleRateHz) });
  }
  const dspEnabled = c.i16('dsp enabled') !== 0;
  c.f32('actual DSP cutoff');
  const actualLowerBandwidthHz = c.f32('actual lower bandwidth');
  const actualUpperBandwidthHz = c.f32('actual upper bandwidth');
  c.f32('desired DSP cutoff');
  c.f32('desired lower bandwidth');
  c.f32('desired upper bandwidth');
  const notchFilterMode = c.i16('notch filter mode');
  c.f32('desired impedance test frequency');
  c.f32('actual impedance test frequency');
  const notes = [c.qstring('note1'), c.qstring('note2'), c.qstring('note3')];
  const tempSensorCount = atLeast(1, 1) ? c.i16('number of temperature sensors') : 0;
  const evalBoardMode = atLeast(1, 3) ? c.i16('eval board mode') : 0;
  const referenceChannel = major > 1 ? c.qstring('reference channel') : '';
  const groupCount = c.i16('number of signal groups');
  if (groupCount < 0) throw fileMalformed({ file, offset: c.pos - 2, field: 'header field number of signal groups', expected: 'a non-negative count', actual: String(groupCount) });
  const channels: RhdChannel[] = [];
  for (let g = 0; g < groupCount; g++) {
    const groupName = c.qstring(`signal group ${g} name`);
    c.qstring(`signal group ${g} prefix`);
    const groupEnabled = c.i16(`signal group ${g} enabled`);
    const channelCount = c.i16(`signal group ${g} channel count`);
    c.i16(`signal group ${g} amplifier channel count`);
    if (channelCount < 0) throw fileMalformed({ file, offset: c.pos - 4, field: `header field signal group ${g} channel count`, expected: 'a non-negative count', actual: String(channelCount) });
    // Channel records follow only for enabled groups with channels (as Intan's own reader reads them).
    if (channelCount === 0 || groupEnabled === 0) continue;
    for (let k = 0; k < channelCount; k++) {
      const at = `signal group ${g} channel ${k}`;
      const nativeName = c.qstring(`${at} native name`);
      const customName = c.qstring(`${at} custom name`);
      const nativeOrder = c.i16(`${at} native order`);
      const customOrder = c.i16(`${at} custom order`);
      const typeAt = c.pos;
      const typeCode = c.i16(`${at} signal type`);
      const enabled = c.i16(`${at} enabled`);
      const chipChannel = c.i16(`${at} chip channel`);
      const boardStream = c.i16(`${at} board stream`);
      c.i16(`${at} spike scope trigger mode`);
      c.i16(`${at} spike scope voltage threshold`);
      c.i16(`${at} spike scope digital trigger channel`);
      c.i16(`${at} spike scope digital edge polarity`);
      const impedanceMagnitudeOhm = c.f32(`${at} impedance magnitude`);
      const impedancePhaseDeg = c.f32(`${at} impedance phase`);
      const signalType = SIGNAL_TYPES[typeCode];
      if (signalType === undefined) {
        throw fileMalformed({ file, offset: typeAt, field: `header field ${at} signal type`, expected: '0…5 (amplifier, aux, supply, ADC, digital in, digital out)', actual: String(typeCode) });
      }
      if (enabled) channels.push({ nativeName, customName, groupName, nativeOrder, customOrder, signalType, chipChannel, boardStream, impedanceMagnitudeOhm, impedancePhaseDeg });
    }
  }
  const counts = { amplifier: 0, aux: 0, supply: 0, adc: 0, 'digital-in': 0, 'digital-out': 0 } as Record<RhdSignalType, number>;
  for (const ch of channels) counts[ch.signalType]++;
  const n = major >= 2 ? 128 : 60;
  const bytesPerBlock =
    n * 4 +
    n * 2 * counts.amplifier +
    (n / 4) * 2 * counts.aux +
    2 * counts.supply +
    2 * tempSensorCount +
    n * 2 * counts.adc +
    (counts['digital-in'] > 0 ? n * 2 : 0) +
    (counts['digital-out'] > 0 ? n * 2 : 0);
  return {
    versionMajor: major,
    versionMinor: minor,
    sampleRateHz,
    dspEnabled,
    actualLowerBandwidthHz,
    actualUpperBandwidthHz,
    notchFilterMode,
    notes,
    tempSensorCount,
    evalBoardMode,
    referenceChannel,
    channels,
    samplesPerBlock: n,
    timestampsSigned: atLeast(1, 2),
    headerBytes: c.pos,
    bytesPerBlock,
    counts,
  };
}
