import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cobsDecode, cobsEncode, cobsMaxEncodedLength } from '../../../drivers/firmware-bridge/cobs.js';
import { crc16 } from '../../../drivers/firmware-bridge/crc16.js';
import { FrameWriter } from '../../../drivers/firmware-bridge/codec.js';
import { FrameParser } from '../../../drivers/firmware-bridge/frame-parser.js';
import { Op } from '../../../drivers/firmware-bridge/protocol.js';

const hex = (s: string): Uint8Array => Uint8Array.from(s.trim().split(/\s+/).filter(Boolean).map((b) => parseInt(b, 16)));
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

function encode(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(cobsMaxEncodedLength(data.length) + 1);
  const end = cobsEncode(data, 0, data.length, out, 0);
  out[end] = 0;
  return out.slice(0, end + 1);
}

function decode(encodedWithDelimiter: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(1024);
  const n = cobsDecode(encodedWithDelimiter, 0, encodedWithDelimiter.length - 1, out);
  return n < 0 ? null : out.slice(0, n);
}

// CRC-16/CCITT-FALSE check values from the CRC catalogue (reveng) and common references.
test('CRC-16/CCITT-FALSE matches the published check values', () => {
  assert.is(crc16(ascii('123456789')), 0x29b1);
  assert.is(crc16(ascii('A')), 0xb915);
  assert.is(crc16(new Uint8Array(0)), 0xffff);
  // Computed with a bit-by-bit reference below, independent of the table-driven code under test.
  const bitwise = (data: Uint8Array): number => {
    let c = 0xffff;
    for (const b of data) {
      c ^= b << 8;
      for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    }
    return c;
  };
  for (let seed = 1; seed < 50; seed++) {
    const data = Uint8Array.from({ length: seed * 7 }, (_, i) => (i * 131 + seed * 17) & 0xff);
    assert.is(crc16(data), bitwise(data));
  }
});

// The COBS examples of Wikipedia's "Consistent Overhead Byte Stuffing" article.
const COBS_VECTORS: Array<[number[], number[]]> = [
  [[0x00], [0x01, 0x01, 0x00]],
  [[0x00, 0x00], [0x01, 0x01, 0x01, 0x00]],
  [[0x00, 0x11, 0x00], [0x01, 0x02, 0x11, 0x01, 0x00]],
  [[0x11, 0x22, 0x00, 0x33], [0x03, 0x11, 0x22, 0x02, 0x33, 0x00]],
  [[0x11, 0x22, 0x33, 0x44], [0x05, 0x11, 0x22, 0x33, 0x44, 0x00]],
  [[0x11, 0x00, 0x00, 0x00], [0x02, 0x11, 0x01, 0x01, 0x01, 0x00]],
  [range(0x01, 0xfe), [0xff, ...range(0x01, 0xfe), 0x00]],
  [range(0x00, 0xfe), [0x01, 0xff, ...range(0x01, 0xfe), 0x00]],
  [range(0x01, 0xff), [0xff, ...range(0x01, 0xfe), 0x02, 0xff, 0x00]],
  [[...range(0x02, 0xff), 0x00], [0xff, ...range(0x02, 0xff), 0x01, 0x01, 0x00]],
  [[...range(0x03, 0xff), 0x00, 0x01], [0xfe, ...range(0x03, 0xff), 0x02, 0x01, 0x00]],
];

test('COBS encodes and decodes the published examples', () => {
  for (const [data, encoded] of COBS_VECTORS) {
    assert.equal([...encode(Uint8Array.from(data))], encoded, `encode ${data.length} bytes`);
    assert.equal([...(decode(Uint8Array.from(encoded)) ?? [])], data, `decode ${encoded.length} bytes`);
  }
});

test('COBS round-trips random data and refuses malformed blocks', () => {
  let state = 12345;
  const next = (): number => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 24;
  for (let trial = 0; trial < 300; trial++) {
    const data = Uint8Array.from({ length: next() * 3 }, () => (next() < 60 ? 0 : next()));
    const encoded = encode(data);
    assert.ok(encoded.subarray(0, -1).every((b) => b !== 0));
    assert.equal([...(decode(encoded) ?? [])], [...data]);
  }
  assert.is(decode(Uint8Array.from([0x05, 0x11, 0x22, 0x00])), null, 'code runs past the end');
  assert.is(decode(Uint8Array.from([0x03, 0x11, 0x00, 0x00])), null, 'zero inside a block');
});

test('PROTOCOL.md worked frames are what the writer produces', () => {
  const w = new FrameWriter();
  const out = new Uint8Array(64);
  const frame = (op: number, seq: number, fill: (w: FrameWriter) => number): number[] => {
    w.begin(op, seq);
    return [...out.subarray(0, w.finish(fill(w), out, 0))];
  };
  assert.equal(frame(Op.HELLO, 1, (x) => x.hello(1, 0)), [...hex('03 01 01 02 01 03 D8 FE 00')]);
  assert.equal(frame(Op.GET_CLOCK, 0x0100, () => 0), [...hex('02 0A 04 01 7C 1B 00')]);
  assert.equal(frame(Op.TRIGGER, 0x0203, (x) => x.trigger(5)), [...hex('05 03 03 02 05 03 97 F5 00')]);
});

function wire(frames: Array<{ op: number; seq: number; payload: number[] }>): Uint8Array {
  const w = new FrameWriter();
  const out = new Uint8Array(4096);
  let at = 0;
  for (const f of frames) {
    w.begin(f.op, f.seq);
    w.raw.set(f.payload, 3);
    at = w.finish(f.payload.length, out, at);
  }
  return out.slice(0, at);
}

function parseAll(parser: FrameParser, data: Uint8Array, chunk: (i: number) => number): Array<{ op: number; seq: number; length: number }> {
  const got: Array<{ op: number; seq: number; length: number }> = [];
  let offset = 0;
  let k = 0;
  while (offset < data.length) {
    const end = Math.min(data.length, offset + chunk(k++));
    let at = offset;
    while (at < end) {
      at = parser.feed(data, at, end);
      if (parser.frameLength) got.push({ op: parser.frame[0], seq: parser.frame[1] | (parser.frame[2] << 8), length: parser.frameLength });
    }
    offset = end;
  }
  return got;
}

const FRAMES = Array.from({ length: 40 }, (_, i) => ({ op: 0x80 | ((i % 10) + 1), seq: 65530 + i, payload: Array.from({ length: (i * 7) % 60 }, (_, j) => (i + j * 3) & 0xff) }));

test('the parser gives the same frames however the bytes are split, one byte at a time included', () => {
  const data = wire(FRAMES);
  const expected = FRAMES.map((f) => ({ op: f.op, seq: f.seq & 0xffff, length: f.payload.length + 5 }));
  assert.equal(parseAll(new FrameParser(), data, () => 1), expected);
  let s = 7;
  assert.equal(parseAll(new FrameParser(), data, () => ((s = (s * 48271) % 2147483647) % 37) + 1), expected);
  const whole = new FrameParser();
  assert.equal(parseAll(whole, data, () => data.length), expected);
  assert.is(whole.counters.frames, 40);
  assert.is(whole.counters.resyncs, 0);
});

test('garbage between frames is discarded at the next delimiter and counted; the frames around it survive', () => {
  const a = wire(FRAMES.slice(0, 3));
  const b = wire(FRAMES.slice(3, 6));
  const garbage = Uint8Array.from([0x13, 0x37, 0xbe, 0xef, 0x00]); // delimited noise: costs only itself
  const undelimited = Uint8Array.from([0x99, 0x98]); // noise glued to the next frame: that frame is lost
  const data = Uint8Array.from([...a, ...garbage, ...b, ...undelimited, ...wire(FRAMES.slice(6, 8))]);
  const parser = new FrameParser();
  const got = parseAll(parser, data, () => 1);
  assert.equal(got.map((f) => f.seq), [...FRAMES.slice(0, 6), FRAMES[7]].map((f) => f.seq & 0xffff));
  assert.is(parser.counters.resyncs, 2);
  assert.is(parser.counters.framingErrors + parser.counters.crcErrors, 2);
});

test('a frame with a flipped bit is dropped as a CRC error; an overlong run is a framing error', () => {
  const data = wire(FRAMES.slice(0, 2));
  data[4] ^= 0x10;
  const parser = new FrameParser();
  const got = parseAll(parser, data, () => 3);
  assert.is(got.length, 1);
  assert.is(parser.counters.crcErrors + parser.counters.framingErrors, 1);
  const long = new Uint8Array(600).fill(0x41);
  long[599] = 0;
  const p2 = new FrameParser();
  assert.is(parseAll(p2, Uint8Array.from([...long, ...wire(FRAMES.slice(0, 1))]), () => 64).length, 1);
  assert.is(p2.counters.framingErrors, 1);
  assert.is(p2.counters.discardedBytes, 600);
});

test.run();
