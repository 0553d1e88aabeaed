import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLinkCounters } from '../../../drivers/binding/device-connection.js';
import { PulsePalReplyParser } from '../../../drivers/pulsepal/reply-parser.js';
import { SeededRandom } from '../../../src/core/random.js';

function parser() {
  const counters = createLinkCounters();
  const seen: string[] = [];
  const p = new PulsePalReplyParser(counters, {
    onHandshake: (v) => seen.push(`K${v}`),
    onAck: () => seen.push('ack'),
  });
  return { p, counters, seen };
}

/** Garbage, a handshake reply (firmware 0x01020315), garbage, two confirmations. */
const stream = Uint8Array.of(0x10, 0x4b, 0x15, 0x03, 0x02, 0x01, 0x77, 0x78, 0x01, 0x01);

function feedAll(feed: (bytes: Uint8Array, offset: number, length: number) => void, sizes: number[]): void {
  let offset = 0;
  for (const size of sizes) {
    feed(stream, offset, size);
    offset += size;
  }
}

test('handshake and confirmations, fed whole, one byte at a time, or in random fragments, give the same result', () => {
  const cuts = [[stream.length], Array(stream.length).fill(1)];
  const random = new SeededRandom(3);
  for (let k = 0; k < 20; k++) {
    const sizes: number[] = [];
    for (let left = stream.length; left > 0; ) {
      const n = Math.min(left, 1 + random.int(4));
      sizes.push(n);
      left -= n;
    }
    cuts.push(sizes);
  }
  for (const sizes of cuts) {
    const { p, counters, seen } = parser();
    // Confirmations are only accepted once the handshake is done (the 0x01 inside the version is not one).
    p.awaitingHandshake = true;
    p.pendingAcks = 2;
    feedAll((bytes, offset, length) => p.feed(bytes, offset, length, 0), sizes);
    assert.equal(seen, [`K${0x01020315}`, 'ack', 'ack'], `cut ${sizes.join(',')}`);
    assert.is(counters.blocks, 3);
    assert.is(counters.resyncs, 2, 'two runs of garbage');
    assert.is(p.garbageBytes, 3);
  }
});

test('a confirmation byte nobody waits for is garbage', () => {
  const { p, counters, seen } = parser();
  p.feed(Uint8Array.of(0x01, 0x4b), 0, 2, 0);
  assert.equal(seen, []);
  assert.is(counters.resyncs, 1);
});

test('reset drops a half-received handshake reply', () => {
  const { p, seen } = parser();
  p.awaitingHandshake = true;
  p.feed(Uint8Array.of(0x4b, 0x15), 0, 2, 0);
  p.reset();
  p.awaitingHandshake = true;
  p.feed(Uint8Array.of(0x4b, 0x14, 0, 0, 0), 0, 5, 0);
  assert.equal(seen, ['K20']);
});

test.run();
