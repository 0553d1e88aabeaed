/**
 * NumPy `.npy` files (format versions 1.0, 2.0 and 3.0), little-endian numeric dtypes, C order.
 *
 * Layout: the magic `\x93NUMPY`, a major and a minor version byte, the header length (u16 LE for
 * 1.0, u32 LE for 2.0/3.0), then the header — a Python dict literal
 * `{'descr': '<f8', 'fortran_order': False, 'shape': (625, 48), }` padded with spaces and ended by
 * `\n` — then the raw items. We write headers padded so that the data starts on a 64-byte boundary,
 * as NumPy does.
 *
 * Used for Open Ephys `sample_numbers.npy` / `timestamps.npy` / events and Kilosort folders.
 * `int64`/`uint64` arrays come back as BigInt64Array/BigUint64Array (exact); see
 * {@link npyToFloat64} for a number view.
 */
import { writeFileSync } from 'node:fs';
import { fileMalformed, fileTruncated, fileUnsupported, fileWriteFailed } from './file-errors.js';
import { assertLittleEndianHost, closeQuietly, fileSizeOf, openForReading, readExactly } from './fs-sync.js';

export type NpyDtype = 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float32' | 'float64';

export type NpyTypedArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

interface DtypeSpec {
  readonly dtype: NpyDtype;
  readonly descr: string;
  readonly bytes: number;
  readonly make: (buffer: ArrayBuffer, byteOffset: number, length: number) => NpyTypedArray;
}

const DTYPES: readonly DtypeSpec[] = [
  { dtype: 'int8', descr: '|i1', bytes: 1, make: (b, o, n) => new Int8Array(b, o, n) },
  { dtype: 'uint8', descr: '|u1', bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  { dtype: 'int16', descr: '<i2', bytes: 2, make: (b, o, n) => new Int16Array(b, o, n) },
  { dtype: 'uint16', descr: '<u2', bytes: 2, make: (b, o, n) => new Uint16Array(b, o, n) },
  { dtype: 'int32', descr: '<i4', bytes: 4, make: (b, o, n) => new Int32Array(b, o, n) },
  { dtype: 'uint32', descr: '<u4', bytes: 4, make: (b, o, n) => new Uint32Array(b, o, n) },
  { dtype: 'int64', descr: '<i8', bytes: 8, make: (b, o, n) => new BigInt64Array(b, o, n) },
  { dtype: 'uint64', descr: '<u8', bytes: 8, make: (b, o, n) => new BigUint64Array(b, o, n) },
  { dtype: 'float32', descr: '<f4', bytes: 4, make: (b, o, n) => new Float32Array(b, o, n) },
  { dtype: 'float64', descr: '<f8', bytes: 8, make: (b, o, n) => new Float64Array(b, o, n) },
];

export const NPY_DTYPES: readonly NpyDtype[] = DTYPES.map((d) => d.dtype);

function specOf(dtype: NpyDtype): DtypeSpec {
  const spec = DTYPES.find((d) => d.dtype === dtype);
  if (!spec) throw new RangeError(`npy: unknown dtype ${dtype}`);
  return spec;
}

export function npyItemBytes(dtype: NpyDtype): number {
  return specOf(dtype).bytes;
}

export function npyDescr(dtype: NpyDtype): string {
  return specOf(dtype).descr;
}

/** The dtype of a typed array, or null for arrays .npy cannot hold here (e.g. Uint8ClampedArray). */
export function dtypeOfArray(array: ArrayBufferView): NpyDtype | null {
  if (array instanceof Int8Array) return 'int8';
  if (array instanceof Uint8Array) return 'uint8';
  if (array instanceof Int16Array) return 'int16';
  if (array instanceof Uint16Array) return 'uint16';
  if (array instanceof Int32Array) return 'int32';
  if (array instanceof Uint32Array) return 'uint32';
  if (array instanceof BigInt64Array) return 'int64';
  if (array instanceof BigUint64Array) return 'uint64';
  if (array instanceof Float32Array) return 'float32';
  if (array instanceof Float64Array) return 'float64';
  return null;
}

export interface NpyHeader {
  readonly version: '1.0' | '2.0' | '3.0';
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  /** Product of the shape (1 for a 0-d array). */
  readonly itemCount: number;
  readonly itemBytes: number;
  /** Byte offset of the first item. */
  readonly dataOffset: number;
}

export interface NpyArray {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  /** Items in C order. */
  readonly data: NpyTypedArray;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const PREAMBLE_V1 = 10;
const PREAMBLE_V2 = 12;

/**
 * Parses the header at the start of `bytes` (at least the whole header must be there).
 * `source` names the file in errors.
 */
export function parseNpyHeader(bytes: Uint8Array, source: string): NpyHeader {
  if (bytes.length < PREAMBLE_V1) {
    if (bytes.length < MAGIC.length || MAGIC.some((m, i) => bytes[i] !== m)) {
      throw fileMalformed({ file: source, offset: 0, field: 'magic', expected: '"\\x93NUMPY" (a NumPy .npy file)', actual: describeBytes(bytes, 0, 6) });
    }
    throw fileTruncated({ file: source, offset: bytes.length, field: 'preamble', expected: `${PREAMBLE_V1} bytes`, actual: `${bytes.length}` });
  }
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) {
      throw fileMalformed({ file: source, offset: 0, field: 'magic', expected: '"\\x93NUMPY" (a NumPy .npy file)', actual: describeBytes(bytes, 0, 6) });
    }
  }
  const major = bytes[6];
  const minor = bytes[7];
  let headerLength: number;
  let preamble: number;
  if (major === 1) {
    headerLength = bytes[8] | (bytes[9] << 8);
    preamble = PREAMBLE_V1;
  } else if (major === 2 || major === 3) {
    if (bytes.length < PREAMBLE_V2) {
      throw fileTruncated({ file: source, offset: bytes.length, field: 'header length', expected: `${PREAMBLE_V2} bytes`, actual: `${bytes.length}` });
    }
    headerLength = (bytes[8] | (bytes[9] << 8) | (bytes[10] << 16)) + bytes[11] * 0x1000000;
    preamble = PREAMBLE_V2;
  } else {
    throw fileUnsupported({ file: source, offset: 6, field: 'version', expected: '1.0, 2.0 or 3.0', actual: `${major}.${minor}` });
  }
  const dataOffset = preamble + headerLength;
  if (bytes.length < dataOffset) {
    throw fileTruncated({
      file: source,
      offset: bytes.length,
      field: 'header',
      expected: `a header of ${headerLength} bytes ending at byte ${dataOffset}`,
      actual: `${bytes.length} bytes in the file`,
    });
  }
  const text =
    major === 3
      ? new TextDecoder('utf-8').decode(bytes.subarray(preamble, dataOffset))
      : String.fromCharCode(...bytes.subarray(preamble, dataOffset));
  let dict: unknown;
  try {
    dict = new PyLiteralParser(text).parseWhole();
  } catch (cause) {
    throw fileMalformed({ file: source, offset: preamble, field: 'header', expected: 'a Python dict literal', actual: JSON.stringify(text.trim().slice(0, 80)) }, `(${(cause as Error).message})`);
  }
  if (typeof dict !== 'object' || dict === null || Array.isArray(dict) || dict instanceof PyTuple) {
    throw fileMalformed({ file: source, offset: preamble, field: 'header', expected: 'a dict', actual: JSON.stringify(text.trim().slice(0, 80)) });
  }
  const header = dict as Record<string, unknown>;
  const descr = header.descr;
  if (typeof descr !== 'string') {
    throw fileUnsupported({ file: source, field: 'descr', expected: 'a simple numeric dtype string such as "<f8"', actual: describePy(descr) }, 'structured dtypes are not supported');
  }
  const dtype = dtypeFromDescr(descr, source);
  if (header.fortran_order !== false) {
    if (header.fortran_order === true) {
      throw fileUnsupported({ file: source, field: 'fortran_order', expected: 'False (C order)', actual: 'True' }, 'Fortran-ordered arrays are not supported; save with np.ascontiguousarray');
    }
    throw fileMalformed({ file: source, field: 'fortran_order', expected: 'True or False', actual: describePy(header.fortran_order) });
  }
  const shapeValue = header.shape;
  if (!(shapeValue instanceof PyTuple) || !shapeValue.items.every((n) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0)) {
    throw fileMalformed({ file: source, field: 'shape', expected: 'a tuple of non-negative integers', actual: describePy(shapeValue) });
  }
  const shape = shapeValue.items as number[];
  const itemCount = shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(itemCount)) {
    throw fileMalformed({ file: source, field: 'shape', expected: 'fewer than 2^53 items', actual: `(${shape.join(', ')})` });
  }
  return { version: `${major}.0` as NpyHeader['version'], dtype, shape, itemCount, itemBytes: specOf(dtype).bytes, dataOffset };
}

function dtypeFromDescr(descr: string, source: string): NpyDtype {
  const order = descr[0];
  const kind = descr.slice(1);
  const bytes = Number(descr.slice(2));
  if (order === '>' && bytes > 1) {
    throw fileUnsupported({ file: source, field: 'descr', expected: 'a little-endian dtype such as "<f8"', actual: JSON.stringify(descr) }, 'big-endian arrays are not supported; convert with arr.astype(arr.dtype.newbyteorder("<"))');
  }
  if (order === '<' || order === '|' || order === '=' || order === '>') {
    const spec = DTYPES.find((d) => d.descr.slice(1) === kind);
    if (spec && (spec.bytes === 1 || order !== '|')) return spec.dtype;
  }
  throw fileUnsupported({
    file: source,
    field: 'descr',
    expected: `one of ${DTYPES.map((d) => `"${d.descr}"`).join(', ')}`,
    actual: JSON.stringify(descr),
  }, 'unsupported dtype');
}

/** Encodes a version 1.0 (or 2.0 when longer than 65535 bytes) header; the data starts right after it. */
export function encodeNpyHeader(dtype: NpyDtype, shape: readonly number[], minTotalBytes = 0): Uint8Array {
  return encodeNpyHeaderWithDescr(specOf(dtype).descr, shape, minTotalBytes);
}

/**
 * A header for any NumPy descr, e.g. `|S12` (fixed-length byte strings, as in Open Ephys
 * `text.npy`); the caller writes matching data.
 */
export function encodeNpyHeaderWithDescr(descr: string, shape: readonly number[], minTotalBytes = 0): Uint8Array {
  for (const n of shape) {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`npy: shape entries must be non-negative integers, got (${shape.join(', ')})`);
  }
  if (!/^[<>|=][A-Za-z]\d*$/.test(descr)) throw new RangeError(`npy: unexpected descr ${JSON.stringify(descr)}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  let preamble = PREAMBLE_V1;
  let total = roundUp(preamble + dict.length + 1, 64);
  if (total - preamble > 0xffff) {
    preamble = PREAMBLE_V2;
    total = roundUp(preamble + dict.length + 1, 64);
  }
  total = Math.max(total, roundUp(minTotalBytes, 64));
  if (preamble === PREAMBLE_V1 && total - preamble > 0xffff) preamble = PREAMBLE_V2;
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  out[6] = preamble === PREAMBLE_V1 ? 1 : 2;
  out[7] = 0;
  const headerLength = total - preamble;
  if (preamble === PREAMBLE_V1) {
    out[8] = headerLength & 0xff;
    out[9] = headerLength >>> 8;
  } else {
    new DataView(out.buffer).setUint32(8, headerLength, true);
  }
  for (let i = 0; i < dict.length; i++) out[preamble + i] = dict.charCodeAt(i);
  out.fill(0x20, preamble + dict.length, total - 1);
  out[total - 1] = 0x0a;
  return out;
}

function roundUp(n: number, multiple: number): number {
  return Math.ceil(n / multiple) * multiple;
}

/** Encodes a whole array; `shape` defaults to one dimension of the array's length. */
export function encodeNpy(data: NpyTypedArray, shape: readonly number[] = [data.length]): Uint8Array {
  const dtype = dtypeOfArray(data);
  if (dtype === null) throw new TypeError('npy: unsupported typed array');
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`npy: shape (${shape.join(', ')}) holds ${count} items, the array has ${data.length}`);
  const header = encodeNpyHeader(dtype, shape);
  const out = new Uint8Array(header.length + data.byteLength);
  out.set(header, 0);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), header.length);
  return out;
}

export function writeNpy(path: string, data: NpyTypedArray, shape: readonly number[] = [data.length]): void {
  assertLittleEndianHost(path);
  const bytes = encodeNpy(data, shape);
  try {
    writeFileSync(path, bytes);
  } catch (cause) {
    throw fileWriteFailed(path, cause);
  }
}

/** Decodes a whole .npy held in memory. */
export function decodeNpy(bytes: Uint8Array, source: string): NpyArray {
  const header = parseNpyHeader(bytes, source);
  const dataBytes = header.itemCount * header.itemBytes;
  checkDataPresent(header, bytes.length, source);
  // Copy into a fresh buffer: typed arrays need their element alignment, the header gives none.
  const buffer = new ArrayBuffer(dataBytes);
  new Uint8Array(buffer).set(bytes.subarray(header.dataOffset, header.dataOffset + dataBytes));
  return { dtype: header.dtype, shape: header.shape, data: specOf(header.dtype).make(buffer, 0, header.itemCount) };
}

function checkDataPresent(header: NpyHeader, fileBytes: number, source: string): void {
  const needed = header.dataOffset + header.itemCount * header.itemBytes;
  if (fileBytes < needed) {
    throw fileTruncated({
      file: source,
      offset: fileBytes,
      field: 'data',
      expected: `${header.itemCount * header.itemBytes} bytes of ${header.dtype} data for shape (${header.shape.join(', ')}), ending at byte ${needed}`,
      actual: `${Math.max(0, fileBytes - header.dataOffset)} bytes`,
    });
  }
}

/** Reads a whole .npy file into memory (for small files: sample numbers, events, templates). */
export function readNpy(path: string): NpyArray {
  assertLittleEndianHost(path);
  const fd = openForReading(path, '.npy file');
  try {
    const bytes = new Uint8Array(fileSizeOf(fd));
    readExactly(fd, path, bytes, 0, bytes.length, 0, 'file');
    return decodeNpy(bytes, path);
  } finally {
    closeQuietly(fd);
  }
}

export interface NpyFileHeader extends NpyHeader {
  readonly fileBytes: number;
  /** Whole items physically present after the header (may exceed itemCount after an unclean stop). */
  readonly itemsPresent: number;
}

/** Reads only the header of a .npy file (and its size), for files too large to load at once. */
export function readNpyHeader(path: string): NpyFileHeader {
  assertLittleEndianHost(path);
  const fd = openForReading(path, '.npy file');
  try {
    const fileBytes = fileSizeOf(fd);
    const head = new Uint8Array(Math.min(fileBytes, 4096));
    readExactly(fd, path, head, 0, head.length, 0, 'header');
    let header: NpyHeader;
    try {
      header = parseNpyHeader(head, path);
    } catch (error) {
      // A header longer than 4 KiB: read exactly as much as it announces.
      if (head.length === 4096 && fileBytes > 4096 && (error as { code?: string }).code === 'E_FILE_TRUNCATED') {
        const view = new DataView(head.buffer);
        const length = head[6] === 1 ? view.getUint16(8, true) + PREAMBLE_V1 : view.getUint32(8, true) + PREAMBLE_V2;
        const whole = new Uint8Array(Math.min(length, fileBytes));
        readExactly(fd, path, whole, 0, whole.length, 0, 'header');
        header = parseNpyHeader(whole, path);
      } else {
        throw error;
      }
    }
    const itemsPresent = Math.max(0, Math.floor((fileBytes - header.dataOffset) / header.itemBytes));
    return { ...header, fileBytes, itemsPresent };
  } finally {
    closeQuietly(fd);
  }
}

/** Converts any numeric .npy array to float64 (int64 beyond 2^53 loses precision). */
export function npyToFloat64(data: NpyTypedArray): Float64Array {
  if (data instanceof Float64Array) return data;
  const out = new Float64Array(data.length);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  } else {
    out.set(data);
  }
  return out;
}

// --- A parser for the Python literals a .npy header holds: dicts, tuples, strings, ints, bools. ---

class PyTuple {
  constructor(readonly items: unknown[]) {}
}

class PyLiteralParser {
  private i = 0;
  constructor(private readonly text: string) {}

  parseWhole(): unknown {
    const value = this.value();
    this.space();
    if (this.i !== this.text.length) throw new Error(`unexpected ${JSON.stringify(this.text[this.i])} at character ${this.i}`);
    return value;
  }

  private space(): void {
    while (this.i < this.text.length && /\s/.test(this.text[this.i])) this.i++;
  }

  private value(): unknown {
    this.space();
    const c = this.text[this.i];
    if (c === '{') return this.dict();
    if (c === '(') return new PyTuple(this.sequence('(', ')'));
    if (c === '[') return this.sequence('[', ']');
    if (c === "'" || c === '"') return this.string();
    const word = /^(True|False|None|-?\d+L?)/.exec(this.text.slice(this.i));
    if (!word) throw new Error(`unexpected ${c === undefined ? 'end of header' : JSON.stringify(c)} at character ${this.i}`);
    this.i += word[0].length;
    if (word[0] === 'True') return true;
    if (word[0] === 'False') return false;
    if (word[0] === 'None') return null;
    return Number(word[0].replace('L', ''));
  }

  private expect(c: string): void {
    this.space();
    if (this.text[this.i] !== c) throw new Error(`expected ${JSON.stringify(c)} at character ${this.i}`);
    this.i++;
  }

  private string(): string {
    const quote = this.text[this.i++];
    const end = this.text.indexOf(quote, this.i);
    if (end < 0) throw new Error('unterminated string');
    const s = this.text.slice(this.i, end);
    this.i = end + 1;
    return s;
  }

  private dict(): Record<string, unknown> {
    this.expect('{');
    const out: Record<string, unknown> = {};
    for (;;) {
      this.space();
      if (this.text[this.i] === '}') {
        this.i++;
        return out;
      }
      const key = this.value();
      if (typeof key !== 'string') throw new Error('dict keys must be strings');
      this.expect(':');
      out[key] = this.value();
      this.space();
      if (this.text[this.i] === ',') this.i++;
      else if (this.text[this.i] !== '}') throw new Error(`expected "," or "}" at character ${this.i}`);
    }
  }

  private sequence(open: string, close: string): unknown[] {
    this.expect(open);
    const out: unknown[] = [];
    for (;;) {
      this.space();
      if (this.text[this.i] === close) {
        this.i++;
        return out;
      }
      out.push(this.value());
      this.space();
      if (this.text[this.i] === ',') this.i++;
      else if (this.text[this.i] !== close) throw new Error(`expected "," or "${close}" at character ${this.i}`);
    }
  }
}

function describePy(value: unknown): string {
  if (value instanceof PyTuple) return `(${value.items.map(describePy).join(', ')})`;
  if (value === undefined) return 'nothing';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (value === null) return 'None';
  if (Array.isArray(value)) return `[${value.map(describePy).join(', ')}]`;
  return JSON.stringify(value);
}

function describeBytes(bytes: Uint8Array, start: number, count: number): string {
  return Array.from(bytes.subarray(start, start + count), (b) => b.toString(16).padStart(2, '0')).join(' ') || 'nothing';
}
