import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planRhxChannels } from '../../../drivers/intan-rhx/rhx-channel-plan.js';
import { RhxWaveformParser } from '../../../drivers/intan-rhx/rhx-waveform-parser.js';
import { seededBytes } from '../../helpers/net.js';

// Blocks are written here from the spec's table (protocols §1.3), independently of any emulator.
function encodeBlock(firstTimestamp: number, words: number, value: (frame: number, word: number) => number): Uint8Array {
  const frameBytes = 4 + 2 * words;
  const out = new Uint8Array(4 + 128 * frameBytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x2ef07a08, true);
  for (let f = 0; f < 128; f++) {
    const at = 4 + f * frameBytes;
    view.setUint32(at, (firstTimestamp + f) >>> 0, true);
    for (let w = 0; w < words; w++) view.setUint16(at + 4 + 2 * w, value(f, w), true);
  }
  return out;
}

const WORDS = 3;
const valueOf = (block: number, frame: number, word: number) => (block * 7919 + frame * 31 + word * 1013) & 0xffff;

function identity(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

function stream(blocks: number, startTimestamp = 0): Uint8Array[] {
  return Array.from({ length: blocks }, (_, b) => encodeBlock(startTimestamp + b * 128, WORDS, (f, w) => valueOf(b, f, w)));
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

/** Feeds `bytes` in pieces of the given sizes, draining after each; returns decoded blocks. */
function run(parser: RhxWaveformParser, bytes: Uint8Array, sizes: () => number) {
  const out: { ts: number; samples: number[] }[] = [];
  let at = 0;
  while (at < bytes.length) {
    const n = Math.min(sizes(), bytes.length - at);
    let fed = 0;
    while (fed < n) {
      fed += parser.feed(bytes, at + fed, n - fed);
      while (parser.next()) out.push({ ts: parser.blockTimestamp, samples: [...parser.samples.subarray(0, parser.framesReady * parser.outputCount)] });
    }
    at += n;
  }
  return out;
}

function expectBlocks(out: { ts: number; samples: number[] }[], blockIds: number[], startTimestamp = 0) {
  assert.is(out.length, blockIds.length);
  out.forEach((blk, i) => {
    const b = blockIds[i];
    assert.is(blk.ts, (startTimestamp + b * 128) >>> 0);
    for (let f = 0; f < 128; f++) for (let w = 0; w < WORDS; w++) assert.is(blk.samples[f * WORDS + w], valueOf(b, f, w) - 32768);
  });
}

test('whole stream, one byte at a time, and random fragments all decode the same, int16 = u16 − 32768', () => {
  const bytes = concat(stream(6));
  const whole = run(new RhxWaveformParser(identity(WORDS), WORDS), bytes, () => bytes.length);
  expectBlocks(whole, [0, 1, 2, 3, 4, 5]);
  const single = new RhxWaveformParser(identity(WORDS), WORDS);
  expectBlocks(run(single, bytes, () => 1), [0, 1, 2, 3, 4, 5]);
  assert.is(single.resyncs, 0);
  const sizes = seededBytes(11, 10_000);
  let k = 0;
  expectBlocks(run(new RhxWaveformParser(identity(WORDS), WORDS), bytes, () => 1 + sizes[k++ % sizes.length]), [0, 1, 2, 3, 4, 5]);
});

test('garbage before and between blocks: skipped, each run counted once, every byte counted', () => {
  const blocks = stream(4);
  const g1 = seededBytes(5, 37);
  const g2 = seededBytes(6, 1000);
  const g3 = Uint8Array.of(0x08, 0x7a, 0xf0); // a magic cut short
  const bytes = concat([g1, blocks[0], blocks[1], g2, blocks[2], g3, blocks[3]]);
  const parser = new RhxWaveformParser(identity(WORDS), WORDS);
  expectBlocks(run(parser, bytes, () => 1 + (parser.blocksParsed % 500)), [0, 1, 2, 3]);
  assert.is(parser.resyncs, 3);
  assert.is(parser.garbageBytes, g1.length + g2.length + g3.length);
});

test('a magic inside garbage followed by non-consecutive timestamps is not taken for a block', () => {
  const blocks = stream(2);
  const fake = encodeBlock(1000, WORDS, () => 0);
  new DataView(fake.buffer).setUint32(4 + 5 * (4 + 2 * WORDS), 999_999, true); // frame 5's timestamp breaks the run
  const bytes = concat([blocks[0], fake, blocks[1]]);
  const parser = new RhxWaveformParser(identity(WORDS), WORDS);
  expectBlocks(run(parser, bytes, () => 4096), [0, 1]);
  assert.is(parser.resyncs, 1);
  assert.is(parser.garbageBytes, fake.length);
});

test('timestamps crossing 2^32 are consecutive (the u32 wrap is no error)', () => {
  const start = 2 ** 32 - 200;
  const bytes = concat(stream(3, start));
  const parser = new RhxWaveformParser(identity(WORDS), WORDS);
  const out = run(parser, bytes, () => 777);
  expectBlocks(out, [0, 1, 2], start);
  assert.is(out[2].ts, (start + 256) % 2 ** 32);
  assert.is(parser.resyncs, 0);
});

test('words are scattered to the configured output order', () => {
  // Configured: B-001, A-002 with wide+high. Wire order (§1.3): A-002 wide, A-002 high, B-001 wide, B-001 high.
  const plan = planRhxChannels(['B-001', 'a-002'], ['wide', 'high']);
  assert.equal(
    plan.outputs.map((o) => o.name),
    ['B-001', 'B-001.high', 'A-002', 'A-002.high'],
  );
  assert.equal(
    plan.wireOrder.map((o) => o.name),
    ['A-002', 'A-002.high', 'B-001', 'B-001.high'],
  );
  const parser = new RhxWaveformParser(plan.wordToOutput, 4);
  parser.feed(encodeBlock(0, 4, (f, w) => 32768 + w * 100 + f));
  assert.ok(parser.next());
  for (const f of [0, 127]) {
    assert.equal([...parser.samples.subarray(f * 4, f * 4 + 4)], [200 + f, 300 + f, f, 100 + f]);
  }
});

test('flushPartial delivers the whole frames of a block cut short, then forgets the rest', () => {
  const block = stream(1)[0];
  const frameBytes = 4 + 2 * WORDS;
  const cut = block.subarray(0, 4 + 10 * frameBytes + 3);
  const parser = new RhxWaveformParser(identity(WORDS), WORDS);
  parser.feed(cut);
  assert.not.ok(parser.next());
  assert.is(parser.flushPartial(), 10);
  for (let f = 0; f < 10; f++) for (let w = 0; w < WORDS; w++) assert.is(parser.samples[f * WORDS + w], valueOf(0, f, w) - 32768);
  assert.is(parser.buffered, 0);
});

test.run();
