// PreciseScheduler: actions run in deadline order and never before their deadline; cancelled ones
// never run; close() ends the timekeeper thread so that the process can exit. These run in real
// time (a few tens of ms), waiting on the actions themselves; how close to the deadline they run is
// measured by `npm run bench:latency` and the io bench (pacing lateness), not asserted here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PreciseScheduler } from '../../src/core/precise-scheduler.js';
import { withGuard } from '../helpers/async.js';

test('actions run in deadline order, none before its deadline, cancelled ones never', async () => {
  const scheduler = new PreciseScheduler();
  // The thread first, and deadlines from one origin: starting the thread inside the loop below took
  // milliseconds on a loaded machine, which moved the later-scheduled deadlines past the earlier ones.
  await withGuard(scheduler.whenReady(), 10_000, 'the timekeeper thread');
  const originMs = performance.now();
  const ran: string[] = [];
  const lateness: number[] = [];
  const delays: Array<[string, number]> = [
    ['c', 12],
    ['a', 2.5],
    ['x', 6],
    ['b', 7.25],
    ['now', 0],
  ];
  await withGuard(
    new Promise<void>((resolve) => {
      const subscriptions = new Map<string, { unsubscribe(): void }>();
      for (const [name, delayMs] of delays) {
        const dueMs = originMs + delayMs;
        subscriptions.set(
          name,
          scheduler.schedule(() => {
            lateness.push(performance.now() - dueMs);
            ran.push(name);
            if (ran.length === 4) resolve();
          }, dueMs - performance.now()),
        );
      }
      subscriptions.get('x')!.unsubscribe();
    }),
    2000,
    'scheduled actions',
  );
  scheduler.close();
  assert.equal(ran, ['now', 'a', 'b', 'c']);
  for (const ms of lateness) assert.ok(ms >= 0, `an action ran ${-ms} ms before its deadline`);
});

test('an action rescheduling itself (as the simulator\'s pump does) runs again; close() drops what is pending', async () => {
  const scheduler = new PreciseScheduler();
  let runs = 0;
  await withGuard(
    new Promise<void>((resolve) => {
      scheduler.schedule(function (this: { schedule(state?: unknown, delay?: number): unknown }) {
        runs++;
        if (runs === 5) resolve();
        this.schedule(undefined, 0.5);
      }, 0.5);
    }),
    2000,
    'self-rescheduling action',
  );
  scheduler.close();
  const runsAtClose = runs;
  // After close nothing runs; a macrotask turn later the count is unchanged.
  await new Promise((resolve) => setImmediate(resolve));
  assert.is(runs, runsAtClose);
  assert.throws(() => scheduler.schedule(() => undefined, 1), /after close/);
});

test('a periodic action (a paced source) is re-armed mostly without waking the timekeeper, and never runs early', async () => {
  const scheduler = new PreciseScheduler();
  await withGuard(scheduler.whenReady(), 10_000, 'the timekeeper thread');
  // 5 ms: room for a loaded machine (tests run two at a time) to hand the next deadline over well
  // before the timekeeper's own wake-up; on an idle one a 1 ms period does the same (bench:latency).
  const periodMs = 5;
  const startMs = performance.now();
  let runs = 0;
  const earlyMs: number[] = [];
  await withGuard(
    new Promise<void>((resolve) => {
      scheduler.schedule(function (this: { schedule(state?: unknown, delay?: number): unknown }) {
        runs++;
        const dueMs = startMs + runs * periodMs;
        if (performance.now() < dueMs) earlyMs.push(dueMs - performance.now());
        if (runs === 30) return resolve();
        this.schedule(undefined, startMs + (runs + 1) * periodMs - performance.now());
      }, periodMs);
    }),
    5000,
    '30 periodic runs',
  );
  scheduler.close();
  assert.equal(earlyMs, [], 'runs before their deadline (ms early)');
  assert.ok(scheduler.quietHandovers >= 10, `${scheduler.quietHandovers} of 29 deadlines handed over without a wake-up`);
});

test.run();
