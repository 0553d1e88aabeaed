// PreciseScheduler: actions run in deadline order and never before their deadline; cancelled ones
// never run; close() ends the timekeeper thread so that the process can exit. And the simulator,
// paced by it in real time, never hands over a block before its last sample is due. These run in
// real time (a few tens of ms), waiting on the actions themselves; how close to the deadline they
// run is measured by `npm run bench:latency` (source pacing), not asserted here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PreciseScheduler } from '../../sim/precise-scheduler.js';
import { SimSource } from '../../sim/sim-source.js';

function withGuard<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const guard = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms)));
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

test('actions run in deadline order, none before its deadline, cancelled ones never', async () => {
  const scheduler = new PreciseScheduler();
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
        const dueMs = performance.now() + delayMs;
        subscriptions.set(
          name,
          scheduler.schedule(() => {
            lateness.push(performance.now() - dueMs);
            ran.push(name);
            if (name === 'c') resolve();
          }, delayMs),
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

test('the real-time simulator never hands over a block before its last sample is due, and its run ends cleanly', async () => {
  const source = new SimSource({ channels: 32, units: 4, seed: 3, blockFrames: 30, realTime: true, durationS: 0.06 });
  const earlyUs: number[] = [];
  let blocks = 0;
  const done = new Promise<void>((resolve, reject) =>
    source.blocks$.subscribe({
      next: (b) => {
        blocks++;
        const dueNs = source.sampleDueTimeNs(b.firstSampleIndex + b.frameCount - 1);
        if (dueNs !== null && b.hostReceiveTimeNs < dueNs) earlyUs.push((dueNs - b.hostReceiveTimeNs) / 1000);
      },
      complete: resolve,
      error: reject,
    }),
  );
  await source.open();
  await source.start();
  await withGuard(done, 5000, 'a 60 ms real-time simulation');
  assert.is(blocks, 60);
  assert.equal(earlyUs, [], 'blocks handed over before their last sample was due (µs early)');
  assert.is(source.state, 'stopped');
});

test.run();
