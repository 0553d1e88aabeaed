import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../../src/core/clock.js';
import { ManualTimers, delay } from '../../src/core/timers.js';

test('ManualTimers: timeouts and intervals fire in due order, ties in creation order, each seeing its due time', () => {
  const timers = new ManualTimers(new ManualClock(1e9));
  const fired: string[] = [];
  const at = (name: string) => () => fired.push(`${name}@${(timers.clock.nowNs() - 1e9) / 1e6}`);
  timers.setInterval(at('tick'), 10);
  timers.setTimeout(at('b'), 10);
  timers.setTimeout(at('a'), 5);
  timers.setTimeout(at('late'), 100);
  timers.advanceMs(25);
  assert.equal(fired, ['a@5', 'tick@10', 'b@10', 'tick@20']);
  assert.is(timers.clock.nowNs(), 1e9 + 25e6, 'the clock ends where it was moved to');
  assert.is(timers.pendingCount, 2, 'the interval and the late timeout');
  assert.is(timers.nextDelayMs(), 5);
});

test('ManualTimers: a cleared interval stops; clearing null or a fired handle is harmless', () => {
  const timers = new ManualTimers();
  let ticks = 0;
  const interval = timers.setInterval(() => {
    ticks++;
    if (ticks === 3) timers.clearTimeout(interval);
  }, 2);
  const once = timers.setTimeout(() => undefined, 1);
  timers.advanceMs(100);
  assert.is(ticks, 3);
  timers.clearTimeout(once);
  timers.clearTimeout(null);
  assert.is(timers.pendingCount, 0);
  assert.not.ok(timers.runNext(), 'nothing left to run');
});

test('ManualTimers: a zero interval runs once per ms instead of spinning', () => {
  const timers = new ManualTimers();
  let ticks = 0;
  timers.setInterval(() => ticks++, 0);
  timers.advanceMs(10);
  assert.is(ticks, 10);
});

test('delay resolves when its time comes, or at once when cancelled (the timer cleared)', async () => {
  const timers = new ManualTimers();
  let done = false;
  const d = delay(timers, 50);
  void d.promise.then(() => (done = true));
  timers.advanceMs(49);
  await Promise.resolve();
  assert.not.ok(done);
  timers.advanceMs(1);
  await d.promise;
  assert.ok(done);
  const cancelled = delay(timers, 1000);
  assert.is(timers.pendingCount, 1);
  cancelled.cancel();
  await cancelled.promise;
  assert.is(timers.pendingCount, 0);
});

test.run();
