import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StreamPacketParser } from '../../../drivers/usb-bridge/stream-parser.js';
import { concat, lcg, packet, patternSample } from './packets.js';

function parseAll(data: Uint8Array, chunk: () => number, parser = new StreamPacketParser()): Array<{ seq: number; first: number; frames: number; ok: boolean }> {
  const out: Array<{ seq: number; first: number; frames: number; ok: boolean }> = [];
  let offset = 0;
  const take = (): void => {
    let ok = true;
    const view = new DataView(parser.buffer.buffer);
    for (let f = 0; f < parser.frameCount; f++)
      for (let c = 0; c < parser.channelCount; c++)
        if (view.getInt16(parser.samplesOffset + (f * parser.channelCount + c) * 2, true) !== patternSample(parser.firstFrameIndex + f, c)) ok = false;
    out.push({ seq: parser.packetSeq, first: parser.firstFrameIndex, frames: parser.frameCount, ok });
  };
  while (offset < data.length) {
    const end = Math.min(data.length, offset + chunk());
    let at = offset;
    while (at < end) {
      at = parser.feed(data, at, end);
      if (parser.ready) take();
    }
    for (;;) {
      parser.feed(data, end, end);
      if (!parser.ready) break;
      take();
    }
    offset = end;
  }
  return out;
}

const PACKETS = Array.from({ length: 50 }, (_, i) => packet(i, i * 20, 20, 6, 1_000 + i * 666));

test('packets come out whole and checked however transfers split them, one byte at a time included', () => {
  const data = concat(PACKETS);
  const expected = PACKETS.map((_, i) => ({ seq: i, first: i * 20, frames: 20, ok: true }));
  assert.equal(parseAll(data, () => 1), expected);
  const r = lcg(3);
  assert.equal(parseAll(data, () => 1 + Math.floor(r() * 5000)), expected);
  const parser = new StreamPacketParser();
  parseAll(data, () => 16384, parser);
  assert.is(parser.counters.packets, 50);
  assert.is(parser.counters.resyncs, 0);
});

test('a corrupted packet is dropped with one resync; garbage between packets costs only itself', () => {
  const bad = PACKETS[3].slice();
  bad[100] ^= 0x40;
  const garbage = Uint8Array.from([0x4f, 0x4c, 0x09, 0x00, 0x12, 0x4f]); // a false magic among the noise
  const data = concat([PACKETS[0], PACKETS[1], garbage, PACKETS[2], bad, PACKETS[4], PACKETS[5]]);
  const parser = new StreamPacketParser();
  const got = parseAll(data, () => 7, parser);
  assert.equal(got.map((p) => p.seq), [0, 1, 2, 4, 5]);
  assert.ok(got.every((p) => p.ok));
  assert.is(parser.counters.crcErrors, 1);
  assert.is(parser.counters.resyncs, 2);
  assert.ok(parser.counters.headerErrors >= 1);
});

test('a header announcing more than 4096 bytes is refused at once, not waited for', () => {
  const liar = PACKETS[0].slice(0, 28);
  new DataView(liar.buffer).setUint16(4, 4000, true);
  const parser = new StreamPacketParser();
  const got = parseAll(concat([liar, PACKETS[1]]), () => 64, parser);
  assert.equal(got.map((p) => p.seq), [1]);
  assert.is(parser.counters.resyncs, 1);
});

test.run();
