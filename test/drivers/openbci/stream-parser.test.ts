/**
 * The Cyton byte parser and frame assembler fed directly: whole, one byte at a time and in random
 * fragments; misframing, wrap-around, gaps and daisy pairing. Packets are built here from
 * protocols.md §3.3, not with the emulator's encoder.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLinkCounters } from '../../../drivers/binding/device-connection.js';
import { CytonFrameAssembler } from '../../../drivers/openbci/frame-assembler.js';
import { CytonStreamParser } from '../../../drivers/openbci/stream-parser.js';
import { createSourceCounters } from '../../../src/core/sample-source.js';
import { SeededRandom } from '../../../src/core/random.js';

function packet(sampleNumber: number, counts: number[], stop = 0xc0, aux: number[] = [0, 0, 0, 0, 0, 0]): number[] {
  const out = [0xa0, sampleNumber & 0xff];
  for (const c of counts) {
    const v = c < 0 ? c + 0x1000000 : c;
    out.push((v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
  }
  return [...out, ...aux, stop];
}

interface Decoded {
  n: number;
  counts: number[];
  stop: number;
}

function parse(bytes: number[], cut: (remaining: number) => number, mode: 'packets' | 'text' = 'packets') {
  const counters = createLinkCounters();
  const packets: Decoded[] = [];
  const texts: string[] = [];
  let feeds = 0;
  const parser = new CytonStreamParser(counters, {
    onPacket: (n, counts, stop) => packets.push({ n, counts: [...counts], stop }),
    onText: (t) => texts.push(t),
    onFeedEnd: () => feeds++,
  });
  parser.setMode(mode);
  const data = Uint8Array.from(bytes);
  for (let offset = 0; offset < data.length; ) {
    const n = Math.min(cut(data.length - offset), data.length - offset);
    parser.feed(data, offset, n, 0);
    offset += n;
  }
  return { packets, texts, counters, parser, feeds };
}

const extremes = [0, 1, -1, 8_388_607, -8_388_608, 0xa0a0a0 - 0x1000000, 0xc0, -160];
const stream = [...packet(254, extremes), ...packet(255, extremes.map((x) => -x >> 1)), ...packet(0, extremes, 0xc4, [0x58, 0, 0, 1, 0x86, 0xa0])];

test('24-bit big-endian two’s complement, sample numbers and stop bytes, whatever the fragmentation', () => {
  const random = new SeededRandom(11);
  for (const [name, cut] of [
    ['whole', () => Infinity],
    ['one byte at a time', () => 1],
    ['random fragments', () => 1 + random.int(40)],
  ] as const) {
    const { packets, counters } = parse(stream, cut);
    assert.equal(packets.map((p) => p.n), [254, 255, 0], name);
    assert.equal(packets[0].counts, extremes, name);
    assert.equal(packets[1].counts, extremes.map((x) => -x >> 1), name);
    assert.equal(packets[2].stop, 0xc4);
    assert.is(counters.resyncs, 0, name);
    assert.is(counters.blocks, 3);
  }
});

test('garbage and a false header are skipped: the parser slides to the real header, one resync per run', () => {
  // Noise, then a 0xA0 that is not a packet start, then noise, then real packets.
  const noisy = [0x11, 0x22, 0xa0, 0x33, 0x44, 0x55, ...stream];
  for (const cut of [() => Infinity, () => 1]) {
    const { packets, counters, parser } = parse(noisy, cut);
    assert.equal(packets.map((p) => p.n), [254, 255, 0]);
    assert.is(counters.resyncs, 1, 'one run of skipped bytes');
    assert.is(parser.garbageBytes, 6);
  }
});

test('a packet cut short by noise is dropped and the next one found', () => {
  const first = packet(1, extremes);
  const broken = [...first.slice(0, 20), ...packet(2, extremes), ...packet(3, extremes)];
  const { packets, counters } = parse(broken, () => 1);
  assert.equal(packets.map((p) => p.n), [2, 3]);
  assert.is(counters.resyncs, 1);
});

test('text mode: replies end at $$$, across fragments', () => {
  const text = Array.from('OpenBCI V3 8-16 channel\nFirmware: v3.1.2\n$$$Success: Channel set for 3$$$', (c) => c.charCodeAt(0));
  const { texts } = parse(text, () => 3, 'text');
  assert.equal(texts, ['OpenBCI V3 8-16 channel\nFirmware: v3.1.2\n', 'Success: Channel set for 3']);
});

function assemble(daisy: boolean, sampleNumbers: number[]) {
  const source = createSourceCounters();
  const link = createLinkCounters();
  const blocks: Array<{ first: number; frames: number[][] }> = [];
  const assembler = new CytonFrameAssembler({
    streamId: 's',
    daisy,
    maxBlockFrames: 8,
    uvPerCount: new Float64Array(16).fill(1),
    sourceCounters: source,
    linkCounters: link,
    emit: (b) => {
      const frames: number[][] = [];
      for (let f = 0; f < b.frameCount; f++) frames.push([...b.samples.subarray(f * b.channelCount, (f + 1) * b.channelCount)]);
      blocks.push({ first: b.firstSampleIndex, frames });
    },
  });
  assembler.beginSegment(false);
  const raw = new Uint8Array(33);
  for (const [i, n] of sampleNumbers.entries()) {
    assembler.onPacket(n, Int32Array.from({ length: 8 }, (_, c) => i * 100 + c), 0xc0, raw, 0);
    if (i % 3 === 2) assembler.flush(); // a read boundary every third packet
  }
  assembler.flush();
  return { blocks, source, link };
}

test('the 8-bit counter is unwrapped across many turns; a gap makes the index jump and is counted', () => {
  const numbers = Array.from({ length: 600 }, (_, i) => i & 0xff);
  const whole = assemble(false, numbers);
  assert.is(whole.source.framesDelivered, 600);
  assert.is(whole.source.framesDropped, 0);
  const last = whole.blocks.at(-1) as { first: number; frames: number[][] };
  assert.is(last.first + last.frames.length, 600);
  const gapped = assemble(false, [...numbers.slice(0, 300), ...numbers.slice(305)]);
  assert.is(gapped.source.framesDropped, 5);
  assert.is(gapped.source.blocksDropped, 1);
  assert.is(gapped.link.drops, 5);
  const after = gapped.blocks.find((b) => b.first >= 300) as { first: number };
  assert.is(after.first, 305, 'the frame after the gap keeps its own index');
});

test('daisy: odd + next even packet make one 16-channel frame; packet 0 and orphan halves are not delivered', () => {
  // Packets 0…9: frames (1,2) (3,4) (5,6) (7,8); 9 has no partner yet.
  const { blocks, source } = assemble(true, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const frames = blocks.flatMap((b) => b.frames);
  assert.is(frames.length, 4);
  assert.equal(frames[0].slice(0, 2), [100, 101], 'channels 1–8 from packet 1');
  assert.equal(frames[0].slice(8, 10), [200, 201], 'channels 9–16 from packet 2');
  assert.is(source.framesDropped, 0);
  // Packet 4 (the daisy half of frame 1) is lost: frame 1 cannot be completed and counts as dropped.
  const lost = assemble(true, [0, 1, 2, 3, 5, 6, 7, 8]);
  const indices = lost.blocks.flatMap((b) => b.frames.map((_, i) => b.first + i));
  assert.equal(indices, [0, 2, 3]);
  assert.is(lost.source.framesDropped, 1);
});

test.run();
