import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLOSE_POLICY, CLOSE_TOO_BIG } from '../../src/bus/server.js';
import { HEADER_BYTES, Topic, writeHeader } from '../../src/bus/wire.js';
import { RawClient, STIM_TOKEN, startTestBus, type TestBus } from '../helpers/bus.js';

let bus: TestBus;
test.after.each(async () => {
  await bus.server.close();
});

async function authenticated(overrides = {}): Promise<RawClient> {
  bus = await startTestBus(overrides);
  const c = await RawClient.open(bus.url);
  await c.hello(STIM_TOKEN);
  return c;
}

/** A frame around `payload` with header fields overridden. */
function rawFrame(payload: Buffer, patch: (frame: Buffer) => void = () => {}): Buffer {
  const frame = Buffer.alloc(HEADER_BYTES + payload.length);
  writeHeader(frame, 0, Topic.control, 0, 0, payload.length);
  payload.copy(frame, HEADER_BYTES);
  patch(frame);
  return frame;
}

test('malformed frames after authentication are refused with E_BUS_MALFORMED naming the problem; the connection stays', async () => {
  const c = await authenticated();
  const ping = c.frame({ ping: { nonce: 1 } }).subarray(HEADER_BYTES);
  const cases: [string, Buffer | string, string][] = [
    ['text frame', 'hello', 'text message'],
    ['short frame', Buffer.from([0x4f, 0x4c, 1]), 'shorter than the 16-byte header'],
    ['bad magic', rawFrame(ping, (f) => (f[0] = 0x58)), 'bad magic'],
    ['wrong version', rawFrame(ping, (f) => (f[2] = 9)), 'protocol version 9'],
    ['unknown flags', rawFrame(ping, (f) => (f[3] = 0x80)), 'unknown flag bits'],
    ['length mismatch', rawFrame(ping, (f) => f.writeUInt32LE(ping.length + 5, 12)), 'payload length field'],
    ['data topic from a client', rawFrame(ping, (f) => f.writeUInt16LE(Topic.spikes, 4)), 'clients send only control frames'],
    ['garbage payload', rawFrame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), 'not a valid ClientMessage'],
    ['unknown subscription topic', c.frame({ subscribe: { topics: [99] } }), 'not a data topic'],
    ['second hello', c.frame({ hello: { token: STIM_TOKEN } }), 'already authenticated'],
  ];
  for (const [, data] of cases) c.sendBytes(data);
  await c.barrier();
  const errors = c.errors();
  assert.is(errors.length, cases.length);
  cases.forEach(([name, , expected], i) => {
    assert.is(errors[i].message.code, 'E_BUS_MALFORMED', name);
    assert.match(errors[i].message.message, expected, name);
    assert.is(errors[i].message.closing, false, name);
  });
  assert.is(c.closeCode, null);
  assert.is(c.controls('pong').length, 1, 'still served after the refusals');
});

test('a stimulate command with an invalid train is refused as malformed and never reaches the handler', async () => {
  const c = await authenticated();
  c.send({ command: { requestId: 4, stimulate: { sink: 'led', output: 0, train: { pulseWidthMs: 0, pulseCount: 1, level: 0.5 } } } });
  c.send({ command: { requestId: 5, stimulate: { sink: 'led', output: 0, train: { pulseWidthMs: 1, pulseCount: 1, level: 2 } } } });
  c.send({ command: { requestId: 6, stimulate: { sink: '', output: 0, train: { pulseWidthMs: 1, pulseCount: 1, level: 0.5 } } } });
  c.send({ command: { requestId: 7 } });
  await c.barrier();
  assert.equal(c.errors().map((e) => [e.message.code, e.message.requestId]), [
    ['E_BUS_MALFORMED', 4],
    ['E_BUS_MALFORMED', 5],
    ['E_BUS_MALFORMED', 6],
    ['E_BUS_MALFORMED', 7],
  ]);
  assert.match(c.errors()[0].message.message, 'pulse_width_ms');
  assert.match(c.errors()[1].message.message, 'level');
  assert.is(bus.handler.received.length, 0);
});

test('a malformed frame before authentication closes the connection', async () => {
  bus = await startTestBus();
  const c = await RawClient.open(bus.url);
  c.sendBytes(Buffer.from('not a frame at all'));
  await c.until(() => c.closeCode !== null, 'close');
  assert.is(c.errors()[0].message.code, 'E_BUS_MALFORMED');
  assert.ok(c.errors()[0].message.closing);
  assert.is(c.closeCode, CLOSE_POLICY);
});

test('an oversized message is refused with E_BUS_TOO_LARGE and the connection kept; beyond 4× the limit it is closed (1009)', async () => {
  const c = await authenticated({ maxMessageBytes: 2048 });
  c.sendBytes(rawFrame(Buffer.alloc(2048)));
  await c.barrier();
  assert.is(c.errors().length, 1);
  assert.is(c.errors()[0].message.code, 'E_BUS_TOO_LARGE');
  assert.match(c.errors()[0].message.message, 'exceeds the limit of 2048 bytes');
  assert.is(c.controls('pong').length, 1);
  assert.is(bus.handler.received.length, 0);
  c.sendBytes(Buffer.alloc(4 * 2048 + 1));
  await c.until(() => c.closeCode !== null, 'close');
  assert.is(c.closeCode, CLOSE_TOO_BIG);
});

test('rate limit: beyond the burst, messages are refused with one E_BUS_RATE frame; commands get an answer each; the emergency stop always passes', async () => {
  const c = await authenticated({ burst: 5, messagesPerS: 10 });
  for (let i = 0; i < 8; i++) c.send({ ping: { nonce: i } });
  c.send({ command: { requestId: 21, stopOptotag: {} } });
  c.send({ command: { requestId: 22, estop: {} } });
  await c.until(() => c.controls('commandResult').length === 1 && c.errors().length === 2, 'refusals and the estop result');
  assert.is(c.controls('pong').length, 5, 'the burst is served');
  assert.equal(c.errors().map((e) => [e.message.code, e.message.requestId]), [
    ['E_BUS_RATE', 0],
    ['E_BUS_RATE', 21],
  ]);
  assert.equal(bus.handler.received.map((r) => r.command.kind), ['estop']);
  // Virtual time: 1 s refills 10 tokens (capped at the burst of 5).
  bus.clock.advanceMs(1000);
  await c.barrier();
  assert.is(c.controls('pong').length, 6);
  for (let i = 0; i < 6; i++) c.send({ ping: { nonce: i } });
  await c.until(() => c.controls('pong').length === 10 && c.errors().length === 3, 'the refilled burst, then one refusal');
  // More refusals within the same second: no further E_BUS_RATE frame. The estop (never limited) is the barrier.
  for (let i = 0; i < 5; i++) c.send({ ping: { nonce: i } });
  c.send({ command: { requestId: 23, estop: {} } });
  await c.until(() => c.controls('commandResult').length === 2, 'second estop result');
  assert.is(c.errors().length, 3);
  assert.is(c.controls('pong').length, 10);
  assert.is(c.closeCode, null);
});

test('connections beyond maxClients are refused at the upgrade', async () => {
  bus = await startTestBus({ maxClients: 1 });
  const first = await RawClient.open(bus.url);
  await first.hello(STIM_TOKEN);
  try {
    await RawClient.open(bus.url);
    assert.unreachable('a second client was accepted');
  } catch (error) {
    assert.match(String(error), '503');
  }
  first.close();
});

test.run();
