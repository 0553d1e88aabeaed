import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLinkCounters } from '../../../drivers/binding/device-connection.js';
import { LineParser } from '../../../drivers/thorlabs/line-parser.js';
import { decodeStatus, parseErrorReply } from '../../../drivers/thorlabs/protocol.js';

test('e? replies: any first word, an integer code, text up to ":", a description', () => {
  assert.equal(parseErrorReply('ERROR 0: No error'), { code: 0, description: 'No error' });
  assert.equal(parseErrorReply('Error -5 PARAM: value out of range'), { code: -5, description: 'value out of range' });
  assert.equal(parseErrorReply('E 12'), { code: 12, description: '' });
  for (const value of ['DC4104', 'Thorlabs DC4104', '500', '0', '3.1', 'M00412345']) assert.is(parseErrorReply(value), null, value);
});

test('status word bits map to named faults (protocols.md §9.1)', () => {
  assert.equal(decodeStatus(0), []);
  assert.equal(decodeStatus(0x2 | 0x8).map((f) => f.kind), ['vcc-fail', 'over-temperature']);
  const perLed = decodeStatus(0x80 | 0x20000 | 0x8000000);
  assert.equal(perLed.map((f) => [f.kind, f.output]), [['no-led', 1], ['led-open', 2], ['at-limit', 3]]);
  assert.match(perLed[1].message, 'LED 3: open circuit');
});

test('lines split at LF, CR dropped, non-printable noise skipped (one resync per run), fed one byte at a time', () => {
  const counters = createLinkCounters();
  const lines: string[] = [];
  const parser = new LineParser(counters, (l) => lines.push(l));
  const bytes = Uint8Array.from([...'DC4104\r\n'].map((c) => c.charCodeAt(0)).concat([0x00, 0xff, 0x80], [...'ERROR 0: No error\r\n'].map((c) => c.charCodeAt(0))));
  for (let i = 0; i < bytes.length; i++) parser.feed(bytes, i, 1, 0);
  assert.equal(lines, ['DC4104', 'ERROR 0: No error']);
  assert.is(counters.resyncs, 1);
  assert.is(parser.garbageBytes, 3);
  assert.is(counters.blocks, 2);
});

test('an endless line is dropped whole, and the next line is read', () => {
  const counters = createLinkCounters();
  const lines: string[] = [];
  const parser = new LineParser(counters, (l) => lines.push(l));
  const long = new TextEncoder().encode('x'.repeat(1000) + '\nok\n');
  parser.feed(long, 0, long.length, 0);
  assert.equal(lines, ['ok']);
  assert.is(counters.resyncs, 1);
});

test.run();
