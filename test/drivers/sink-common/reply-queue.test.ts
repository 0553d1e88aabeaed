import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualTimers } from '../../../drivers/binding/timers.js';
import { ReplyQueue, type ReplyTimes } from '../../../drivers/sink-common/reply-queue.js';
import { ManualClock } from '../../../src/core/clock.js';
import { OptoloopError } from '../../../src/core/errors.js';

interface Setup {
  queue: ReplyQueue<string, ReplyTimes & { request: string }>;
  timers: ManualTimers;
  written: string[];
  timeouts: OptoloopError[];
  abandoned: string[];
  failWrites: boolean;
}

function setup(): Setup {
  const timers = new ManualTimers(new ManualClock(1e9));
  const s: Setup = { timers, written: [], timeouts: [], abandoned: [], failWrites: false } as unknown as Setup;
  s.queue = new ReplyQueue({
    timers,
    reply: (request, times) => ({ request, ...times }),
    write: async (bytes) => {
      if (s.failWrites) throw new Error('EIO');
      s.written.push(new TextDecoder().decode(bytes));
    },
    asError: (error) => new OptoloopError('E_DEVICE_DISCONNECTED', `test: ${(error as Error).message}`),
    timeoutError: (request, timeoutMs) => new OptoloopError('E_DEVICE_TIMEOUT', `no reply to ${request} within ${timeoutMs} ms`),
    onTimeout: (error) => s.timeouts.push(error),
    onAbandoned: (request) => s.abandoned.push(request),
  });
  return s;
}

const bytes = (text: string) => new TextEncoder().encode(text);

test('replies settle the requests oldest first, with the write and reply times', async () => {
  const s = setup();
  const a = s.queue.send('a', bytes('A'), 100);
  const b = s.queue.send('b', bytes('B'), 100);
  await Promise.resolve();
  assert.equal(s.written, ['A', 'B']);
  assert.is(s.queue.head, 'a');
  s.timers.advanceMs(3);
  s.queue.resolveHead(s.timers.clock.nowNs());
  assert.equal(await a, { request: 'a', writeNs: 1e9, replyNs: 1e9 + 3e6 });
  assert.is(s.queue.head, 'b');
  s.queue.resolveHead(1e9 + 4e6);
  assert.equal(await b, { request: 'b', writeNs: 1e9, replyNs: 1e9 + 4e6 });
  assert.is(s.queue.length, 0);
  assert.is(s.timers.pendingCount, 0, 'the reply timers were cleared');
  assert.equal(s.abandoned, []);
});

test('a reply that does not come in time fails its request, then onTimeout hears of it', async () => {
  const s = setup();
  const a = s.queue.send('a', bytes('A'), 250);
  const outcome = a.then(
    () => null,
    (error: unknown) => error as OptoloopError,
  );
  s.timers.advanceMs(249);
  assert.is(s.timeouts.length, 0);
  s.timers.advanceMs(1);
  const error = await outcome;
  assert.is(error?.code, 'E_DEVICE_TIMEOUT');
  assert.match(error!.message, 'no reply to a within 250 ms');
  assert.equal(s.timeouts, [error]);
  assert.equal(s.abandoned, ['a']);
  assert.is(s.queue.length, 0);
});

test('a failed write, a refusal and a lost link fail the requests concerned', async () => {
  const s = setup();
  s.failWrites = true;
  await s.queue.send('w', bytes('W'), 100).then(
    () => assert.unreachable('the write failed'),
    (error: OptoloopError) => assert.is(error.code, 'E_DEVICE_DISCONNECTED'),
  );
  s.failWrites = false;
  const refused = s.queue.send('r', bytes('R'), 100).catch((error: OptoloopError) => error.code);
  const lost1 = s.queue.send('x', bytes('X'), 100).catch((error: OptoloopError) => error.code);
  const lost2 = s.queue.send('y', bytes('Y'), 100).catch((error: OptoloopError) => error.code);
  s.queue.rejectHead(new OptoloopError('E_DEVICE_REFUSED', 'refused'));
  assert.is(await refused, 'E_DEVICE_REFUSED');
  s.queue.failAll(new OptoloopError('E_DEVICE_DISCONNECTED', 'lost'));
  assert.equal([await lost1, await lost2], ['E_DEVICE_DISCONNECTED', 'E_DEVICE_DISCONNECTED']);
  assert.equal(s.abandoned, ['w', 'r', 'x', 'y']);
  assert.is(s.timers.pendingCount, 0);
  s.queue.resolveHead(1);
  assert.is(s.queue.length, 0, 'a late reply finds nothing to settle');
});

test.run();
