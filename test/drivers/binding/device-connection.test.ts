import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MockBinding, type MockDevice } from '../../../drivers/binding/mock-binding.js';
import {
  DeviceConnection,
  type ByteParser,
  type ConnectionEvent,
  type DeviceConnectionOptions,
} from '../../../drivers/binding/device-connection.js';
import { ManualTimers } from '../../../drivers/binding/timers.js';
import { OptoloopError } from '../../../src/core/errors.js';
import { settle, waitFor } from '../../helpers/async.js';

/** Records every byte fed and which buffer object carried it. */
class RecordingParser implements ByteParser {
  readonly bytes: number[] = [];
  readonly buffers = new Set<Uint8Array>();
  resets = 0;
  feed(bytes: Uint8Array, offset: number, length: number): void {
    this.buffers.add(bytes);
    for (let i = offset; i < offset + length; i++) this.bytes.push(bytes[i]);
  }
  reset(): void {
    this.resets++;
  }
}

interface Rig {
  binding: MockBinding;
  device: MockDevice;
  timers: ManualTimers;
  parser: RecordingParser;
  connection: DeviceConnection;
  events: ConnectionEvent[];
  warnings: string[];
}

function rig(options: Partial<DeviceConnectionOptions> = {}): Rig {
  const binding = new MockBinding();
  const device = binding.createDevice('/dev/mock0');
  const timers = new ManualTimers();
  const parser = new RecordingParser();
  const warnings: string[] = [];
  const connection = new DeviceConnection({
    name: 'dev',
    kind: 'mock',
    open: () => binding.open({ path: '/dev/mock0' }),
    parser,
    timers,
    log: { warn: (m) => warnings.push(m) },
    ...options,
  });
  const events: ConnectionEvent[] = [];
  connection.events$.subscribe((e) => events.push(e));
  return { binding, device, timers, parser, connection, events, warnings };
}

const states = (events: ConnectionEvent[]) => events.filter((e) => e.type === 'state').map((e) => (e as { state: string }).state);
const errors = (events: ConnectionEvent[]) => events.filter((e) => e.type === 'error').map((e) => (e as { error: OptoloopError }).error);
const scheduled = (events: ConnectionEvent[]) =>
  events.filter((e) => e.type === 'reconnect-scheduled').map((e) => (e as { delayMs: number }).delayMs);

test('feeds every byte, in order, through one reused buffer, and counts them', async () => {
  const r = rig({ readBufferBytes: 8 });
  await r.connection.open();
  r.device.emitData(new Uint8Array([1, 2, 3]));
  await settle();
  r.device.emitData(new Uint8Array([4, 5, 6, 7, 8, 9, 10, 11, 12, 13])); // more than the buffer: two reads
  await settle();
  assert.equal(r.parser.bytes, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  assert.is(r.parser.buffers.size, 1, 'one buffer object for every read');
  assert.is(r.connection.counters.bytes, 13);
  assert.is(r.connection.state, 'connected');
  await r.connection.close();
});

test('a read cancelled by our close is a normal end: no error event', async () => {
  const r = rig();
  await r.connection.open();
  let completed = false;
  r.connection.events$.subscribe({ complete: () => (completed = true) });
  await r.connection.close();
  await settle();
  assert.equal(errors(r.events), []);
  assert.equal(states(r.events), ['connecting', 'connected', 'disconnected']);
  assert.ok(completed, 'events$ completes on close');
});

test('a vanished device is an error event, then reconnection on the backoff schedule, capped', async () => {
  const r = rig({ reconnect: { initialDelayMs: 100, factor: 2, maxDelayMs: 1000, maxAttempts: null, healthyAfterMs: 10_000 } });
  await r.connection.open();
  r.device.emitData(new Uint8Array([7, 8, 9]));
  await settle();
  r.device.vanish();
  await settle();
  const [lost] = errors(r.events);
  assert.is(lost.code, 'E_DEVICE_DISCONNECTED');
  assert.is(r.connection.state, 'reconnecting');
  assert.equal(r.parser.bytes, [7, 8, 9], 'bytes received before the loss were all delivered');
  // The device stays away: every attempt fails and the delay doubles up to the cap.
  for (let i = 0; i < 6; i++) {
    r.timers.runNext();
    await settle();
  }
  assert.equal(scheduled(r.events), [100, 200, 400, 800, 1000, 1000, 1000]);
  assert.ok(errors(r.events).slice(1).every((e) => e.code === 'E_DEVICE_NOT_FOUND'), 'each failed attempt is reported');
  r.device.reappear();
  r.timers.runNext();
  await settle();
  assert.is(r.connection.state, 'connected');
  assert.is(r.connection.counters.reconnects, 1);
  r.device.emitData(new Uint8Array([10]));
  await settle();
  assert.equal(r.parser.bytes, [7, 8, 9, 10]);
  assert.ok(r.parser.resets >= 2, 'the parser is reset on loss and on reopen');
  await r.connection.close();
});

test('the backoff starts afresh only after a healthy period', async () => {
  const r = rig({ reconnect: { initialDelayMs: 100, factor: 3, maxDelayMs: 10_000, maxAttempts: null, healthyAfterMs: 5000 } });
  await r.connection.open();
  const outage = async (failures: number) => {
    r.device.vanish();
    await settle();
    for (let i = 0; i < failures; i++) {
      r.timers.runNext();
      await settle();
    }
    r.device.reappear();
    r.timers.runNext();
    await settle();
    assert.is(r.connection.state, 'connected');
  };
  await outage(2); // delays 100, 300, then 900 succeeds
  assert.equal(scheduled(r.events), [100, 300, 900]);
  r.timers.advanceMs(1000); // connected 1 s: not healthy yet
  await outage(0);
  assert.equal(scheduled(r.events).slice(3), [2700], 'a flapping device keeps backing off');
  r.timers.advanceMs(5000); // now healthy
  await outage(0);
  assert.equal(scheduled(r.events).slice(4), [100], 'after a healthy period the schedule restarts');
  await r.connection.close();
});

test('gives up after maxAttempts and says so', async () => {
  const r = rig({ reconnect: { initialDelayMs: 10, factor: 2, maxDelayMs: 100, maxAttempts: 3, healthyAfterMs: 1000 } });
  await r.connection.open();
  r.device.vanish();
  await settle();
  for (let i = 0; i < 3; i++) {
    r.timers.runNext();
    await settle();
  }
  assert.is(r.connection.state, 'failed');
  const last = errors(r.events).at(-1) as OptoloopError;
  assert.match(last.message, 'gave up reconnecting after 3 failed attempts');
  assert.is(r.timers.pendingCount, 0, 'no timer left behind');
  await r.connection.close();
});

test('initial open retries with backoff, then rejects with the cause', async () => {
  const r = rig({ openAttempts: 3, openBackoff: { initialDelayMs: 50, factor: 2, maxDelayMs: 1000 } });
  r.device.vanish();
  const opening = r.connection.open();
  let rejected: unknown = null;
  opening.catch((e) => (rejected = e));
  await settle();
  assert.is(r.timers.nextDelayMs(), 50);
  r.timers.runNext();
  await settle();
  assert.is(r.timers.nextDelayMs(), 100);
  r.timers.runNext();
  await settle();
  assert.ok(rejected instanceof OptoloopError);
  assert.is((rejected as OptoloopError).code, 'E_DEVICE_NOT_FOUND');
  assert.is(r.connection.state, 'failed');
  assert.is(errors(r.events).length, 3);
});

test('initial open succeeds when the device appears between attempts', async () => {
  const r = rig({ openAttempts: 5 });
  r.device.vanish();
  const opening = r.connection.open();
  await settle();
  r.device.reappear();
  r.timers.runNext();
  await opening;
  assert.is(r.connection.state, 'connected');
  await r.connection.close();
});

test('a silent device while streaming is E_DEVICE_TIMEOUT; report mode keeps the link', async () => {
  const r = rig({ silenceTimeoutMs: 500, silenceAction: 'report' });
  await r.connection.open();
  r.timers.advanceMs(2000);
  assert.equal(errors(r.events), [], 'no timeout while data is not expected');
  r.connection.expectData(true);
  r.timers.advanceMs(300);
  r.device.emitData(new Uint8Array([1]));
  await settle();
  r.timers.advanceMs(300); // 300 ms since the last byte
  assert.equal(errors(r.events), []);
  r.timers.advanceMs(250);
  const [timeout] = errors(r.events);
  assert.is(timeout.code, 'E_DEVICE_TIMEOUT');
  assert.match(timeout.message, 'no data from /dev/mock0 for 500 ms');
  assert.is(r.connection.state, 'connected');
  r.timers.advanceMs(5000);
  assert.is(errors(r.events).length, 1, 'one report per silent period');
  r.device.emitData(new Uint8Array([2]));
  await settle();
  r.timers.advanceMs(600);
  assert.is(errors(r.events).length, 2, 'a new silence after data resumed is reported again');
  r.connection.expectData(false);
  r.timers.advanceMs(5000);
  assert.is(errors(r.events).length, 2);
  await r.connection.close();
});

test('a silent device in reconnect mode is closed and reopened', async () => {
  const r = rig({ silenceTimeoutMs: 200 });
  let opens = 0;
  const open = r.binding.open.bind(r.binding);
  r.binding.open = (options) => {
    opens++;
    return open(options);
  };
  await r.connection.open();
  r.connection.expectData(true);
  r.timers.advanceMs(200);
  await settle();
  assert.is(errors(r.events)[0].code, 'E_DEVICE_TIMEOUT');
  assert.is(r.connection.state, 'reconnecting');
  r.timers.runNext();
  await settle();
  assert.is(r.connection.state, 'connected');
  assert.is(opens, 2);
  await r.connection.close();
});

test('writes go out one at a time in call order; a write without a port rejects', async () => {
  const r = rig();
  const order: number[] = [];
  r.device.onWrite = (data) => order.push(data[0]);
  await r.connection.open();
  await Promise.all([1, 2, 3, 4].map((n) => r.connection.write(new Uint8Array([n]))));
  assert.equal(order, [1, 2, 3, 4]);
  r.device.vanish();
  await settle();
  try {
    await r.connection.write(new Uint8Array([5]));
    assert.unreachable('should reject');
  } catch (error) {
    assert.is((error as OptoloopError).code, 'E_DEVICE_DISCONNECTED');
  }
  await r.connection.close();
});

/** A rig whose port can also write synchronously, taking at most `takes()` bytes per call (or throwing). */
function syncRig(takes: () => number | Error): Rig & { sync: number[][] } {
  const sync: number[][] = [];
  const binding = new MockBinding();
  const r = rig({
    open: async () => {
      const port = await binding.open({ path: '/dev/mock0' });
      return Object.assign(port, {
        writeNow(data: Uint8Array): number {
          const n = takes();
          if (n instanceof Error) throw n;
          const taken = Math.min(n, data.length);
          sync.push([...data.subarray(0, taken)]);
          return taken;
        },
      });
    },
  });
  // The connection opens the rig's own binding's device: the port above wraps this one instead.
  const device = binding.createDevice('/dev/mock0');
  return Object.assign(r, { binding, device, sync });
}

test('writeNow: an idle link writes synchronously and returns null; behind a pending write it queues in order', async () => {
  const r = syncRig(() => 64);
  const order: number[] = [];
  r.device.onWrite = (data) => order.push(...data);
  await r.connection.open();
  assert.is(r.connection.writeNow(Uint8Array.of(1, 2)), null);
  assert.equal(r.sync, [[1, 2]], 'written before writeNow returned');
  // An asynchronous write in flight: the next writeNow must not overtake it.
  const first = r.connection.write(Uint8Array.of(3));
  const second = r.connection.writeNow(Uint8Array.of(4));
  assert.ok(second instanceof Promise, 'queued behind the pending write');
  await Promise.all([first, second]);
  assert.equal(order, [3, 4]);
  assert.equal(r.sync, [[1, 2]]);
  await r.connection.close();
});

test('writeNow: what the OS does not take at once is queued; a failed write loses the link', async () => {
  const takes: (number | Error)[] = [1, new OptoloopError('E_DEVICE_DISCONNECTED', 'gone')];
  const r = syncRig(() => takes.shift() ?? 0);
  const order: number[] = [];
  r.device.onWrite = (data) => order.push(...data);
  await r.connection.open();
  const rest = r.connection.writeNow(Uint8Array.of(7, 8, 9));
  assert.ok(rest instanceof Promise);
  await rest;
  assert.equal(r.sync, [[7]]);
  assert.equal(order, [8, 9], 'the rest went through the queue');
  try {
    await r.connection.writeNow(Uint8Array.of(10));
    assert.unreachable('should reject');
  } catch (error) {
    assert.is((error as OptoloopError).code, 'E_DEVICE_DISCONNECTED');
  }
  assert.ok(r.connection.state !== 'connected', `link lost: ${r.connection.state}`);
  await r.connection.close();
});

test('onOpen runs after every (re)open; a failed handshake is a failed attempt', async () => {
  const calls: boolean[] = [];
  let failNext = false;
  const r = rig({
    onOpen: async (connection, isReconnect) => {
      calls.push(isReconnect);
      await connection.write(new TextEncoder().encode('hello'));
      if (failNext) {
        failNext = false;
        throw new OptoloopError('E_DEVICE_PROTOCOL', 'bad banner');
      }
    },
    reconnect: { initialDelayMs: 100, factor: 2, maxDelayMs: 1000, maxAttempts: null, healthyAfterMs: 10_000 },
  });
  await r.connection.open();
  assert.equal(calls, [false]);
  failNext = true;
  r.device.vanish();
  r.device.reappear();
  await settle();
  r.timers.runNext(); // reopens, handshake fails
  await settle();
  assert.is(r.connection.state, 'reconnecting');
  assert.is(errors(r.events).at(-1)?.code, 'E_DEVICE_PROTOCOL');
  r.timers.runNext(); // second attempt passes
  await settle();
  assert.is(r.connection.state, 'connected');
  assert.equal(calls, [false, true, true]);
  assert.equal(scheduled(r.events), [100, 200]);
  await r.connection.close();
});

test('a device lost during the handshake fails that attempt without waiting for its timeout', async () => {
  let release: (() => void) | null = null;
  const r = rig({
    onOpen: () => new Promise<void>((resolve) => (release = resolve)),
    openAttempts: 1,
  });
  const opening = r.connection.open();
  await settle();
  r.device.vanish();
  try {
    await opening;
    assert.unreachable('should reject');
  } catch (error) {
    assert.is((error as OptoloopError).code, 'E_DEVICE_DISCONNECTED');
  }
  (release as (() => void) | null)?.();
});

test('low latency: a port that cannot is warned about once, and the link carries on', async () => {
  const r = rig();
  await r.connection.open();
  assert.is(r.warnings.length, 1);
  assert.match(r.warnings[0], 'cannot be put in low-latency mode');
  assert.ok(r.events.some((e) => e.type === 'warning'));
  r.device.vanish();
  r.device.reappear();
  await settle();
  r.timers.runNext();
  await settle();
  assert.is(r.connection.state, 'connected');
  assert.is(r.warnings.length, 1, 'not repeated on reconnect');
  await r.connection.close();

  const quiet = rig();
  quiet.device.lowLatencySupported = true;
  await quiet.connection.open();
  assert.is(quiet.warnings.length, 0);
  await quiet.connection.close();
});

test('status() carries the DeviceStatus fields and the live counters', async () => {
  const r = rig({
    parser: {
      feed(bytes, offset, length) {
        // Plays a protocol: 0xAA is a frame, anything else a byte skipped to resynchronise.
        for (let i = offset; i < offset + length; i++) {
          if (bytes[i] === 0xaa) connection.counters.blocks++;
          else connection.counters.resyncs++;
        }
      },
      reset() {},
    },
  });
  const connection = r.connection;
  await connection.open();
  r.device.emitData(new Uint8Array([0xaa, 0xaa, 1, 0xaa]));
  await settle();
  connection.counters.drops += 2;
  r.device.vanish();
  await settle();
  const status = connection.status();
  assert.equal(
    { ...status, lastError: status.lastError?.startsWith('E_DEVICE_DISCONNECTED') },
    { name: 'dev', kind: 'mock', state: 'reconnecting', bytes: 4, blocks: 3, resyncs: 1, drops: 2, reconnects: 0, lastError: true },
  );
  await connection.close();
});

test('waits for state events through events$', async () => {
  const r = rig();
  const connected = waitFor(r.connection.events$, (e) => e.type === 'state' && e.state === 'connected', 'connected');
  await r.connection.open();
  await connected;
  await r.connection.close();
});

test.run();
