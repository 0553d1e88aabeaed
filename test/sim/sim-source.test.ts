// SimSource life cycle and pacing in virtual time; the bundled probe geometries are the probe
// library's (shared/data/probeinterface-library), and NP1000 gives bank 0.
import { readFileSync } from 'node:fs';
import { VirtualTimeScheduler } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SimSource } from '../../sim/sim-source.js';
import { withGuard } from '../helpers/async.js';
import { simProbe } from '../../sim/probe.js';
import { sharedData } from '../helpers/paths.js';

test('calls out of order reject with E_SOURCE_STATE', async () => {
  const source = new SimSource({ channels: 32, units: 4 });
  for (const call of [() => source.start(), () => source.stop()]) {
    try {
      await call();
      assert.unreachable('should reject');
    } catch (error) {
      assert.is((error as { code?: string }).code, 'E_SOURCE_STATE');
    }
  }
  await source.open();
  await source.close();
});

test('real-time pacing: a block is emitted only once its last sample is due, at 2× speed twice as often', async () => {
  for (const speed of [1, 2]) {
    const scheduler = new VirtualTimeScheduler(undefined, 1000);
    const clock = { nowNs: () => scheduler.now() * 1e6 };
    const source = new SimSource({ channels: 32, units: 4, blockFrames: 300, speed, clock, scheduler });
    const arrivals: number[] = [];
    const indices: number[] = [];
    source.blocks$.subscribe((b) => {
      arrivals.push(b.hostReceiveTimeNs / 1e6);
      indices.push(b.firstSampleIndex);
      assert.is(b.frameCount, 300);
      assert.is(b.uvPerCount[0], Math.fround(0.195));
    });
    const info = await source.open();
    assert.is(info.channelCount, 32);
    await source.start();
    scheduler.flush();
    assert.is(arrivals.length, 100 * speed, `speed ${speed}`);
    arrivals.forEach((t, k) => assert.ok(Math.abs(t - ((k + 1) * 10) / speed) < 1e-6, `block ${k} at ${t} ms`));
    indices.forEach((i, k) => assert.is(i, k * 300));
    await source.stop();
    await source.close();
  }
});

test('sampleDueTimeNs: each block leaves when its last sample is due; a sample is due 1/fs/speed after the one before; null unless running paced', async () => {
  const scheduler = new VirtualTimeScheduler(undefined, 1000);
  const clock = { nowNs: () => scheduler.now() * 1e6 };
  const source = new SimSource({ channels: 32, units: 4, blockFrames: 300, speed: 2, clock, scheduler });
  const lateNs: number[] = [];
  source.blocks$.subscribe((b) => lateNs.push(b.hostReceiveTimeNs - source.sampleDueTimeNs(b.firstSampleIndex + b.frameCount - 1)!));
  await source.open();
  assert.is(source.sampleDueTimeNs(0), null, 'not started');
  await source.start();
  const startNs = clock.nowNs();
  // 30 kHz at twice real time: sample i is due (i + 1) / 60 000 s after the start.
  assert.ok(Math.abs(source.sampleDueTimeNs(0)! - startNs - 1e9 / 60_000) < 1e-3);
  assert.ok(Math.abs(source.sampleDueTimeNs(599)! - startNs - 1e7) < 1e-3);
  scheduler.flush();
  assert.is(lateNs.length, 200);
  for (const [k, ns] of lateNs.entries()) assert.ok(Math.abs(ns) < 1e-3, `block ${k}: ${ns} ns from its last sample's due time`);
  await source.stop();
  assert.is(source.sampleDueTimeNs(0), null, 'stopped');
  await source.close();
  const unpaced = new SimSource({ channels: 32, units: 4, realTime: false, durationS: 0.01 });
  await unpaced.open();
  await unpaced.start();
  assert.is(unpaced.sampleDueTimeNs(0), null, 'as fast as possible: no due times');
  await unpaced.close();
});

test('paced, the next block is generated while it waits for its due time (not when due); the stream is the unpaced one, sample for sample', async () => {
  const scheduler = new VirtualTimeScheduler(undefined, 1000);
  const clock = { nowNs: () => scheduler.now() * 1e6 };
  const paced = new SimSource({ channels: 32, units: 4, seed: 5, blockFrames: 300, durationS: 0.05, clock, scheduler });
  const positions: number[] = [];
  const pacedSamples: number[] = [];
  paced.blocks$.subscribe((b) => {
    positions.push(paced.simulation.generator.position);
    pacedSamples.push(...b.samples.subarray(0, b.frameCount * b.channelCount));
  });
  await paced.open();
  await paced.start();
  scheduler.flush();
  // While block k is consumed, the generator has made exactly it (its light triggers go into k + 1).
  assert.equal(positions, [300, 600, 900, 1200, 1500]);
  assert.is(paced.counters.framesDelivered, 1500);
  await paced.close();
  // Between blocks, the next one is already made: stopped at 15 ms, one block out, two generated.
  const halfway = new VirtualTimeScheduler(undefined, 15);
  const early = new SimSource({ channels: 32, units: 4, seed: 5, blockFrames: 300, durationS: 0.05, clock: { nowNs: () => halfway.now() * 1e6 }, scheduler: halfway });
  await early.open();
  await early.start();
  halfway.flush();
  assert.is(early.counters.framesDelivered, 300);
  assert.is(early.simulation.generator.position, 600);
  await early.close();
  const unpaced = new SimSource({ channels: 32, units: 4, seed: 5, blockFrames: 300, durationS: 0.05, realTime: false });
  const unpacedSamples: number[] = [];
  const done = new Promise<void>((resolve) => unpaced.blocks$.subscribe({ next: (b) => unpacedSamples.push(...b.samples.subarray(0, b.frameCount * b.channelCount)), complete: resolve }));
  await unpaced.open();
  await unpaced.start();
  await done;
  assert.is(pacedSamples.length, 1500 * 32);
  assert.ok(pacedSamples.every((v, i) => v === unpacedSamples[i]), 'same samples');
});

test('bundled geometries equal the probe library; NP1000 at 384 channels is bank 0 (electrodes 0…383)', () => {
  for (const [name, path] of [
    ['NP1000', ['imec', 'NP1000', 'NP1000.json']],
    ['A1x32-Poly3-10mm-50-177', ['neuronexus', 'A1x32-Poly3-10mm-50-177', 'A1x32-Poly3-10mm-50-177.json']],
  ] as const) {
    const library = JSON.parse(readFileSync(sharedData('probeinterface-library', ...path), 'utf8')).probes[0];
    const n = name === 'NP1000' ? 384 : 32;
    const { layout, neuropixels1 } = simProbe(name, n);
    assert.is(neuropixels1, name === 'NP1000');
    for (let c = 0; c < n; c++) {
      assert.is(layout.xUm[c], library.contact_positions[c][0]);
      assert.is(layout.yUm[c], library.contact_positions[c][1]);
      assert.is(layout.contactIds[c], library.contact_ids[c]);
    }
  }
});

test('as fast as possible with yieldEveryMs: each burst ends after that much stream, so promises settle at a fixed stream time', async () => {
  // The default scheduler: bursts are separated by real macrotasks, where microtasks run.
  const source = new SimSource({ channels: 32, units: 4, blockFrames: 30, realTime: false, yieldEveryMs: 10, durationS: 0.1 });
  // A microtask queued from a block runs once the burst that emitted it has ended.
  const settledAt: number[] = [];
  let pending = false;
  const done = new Promise<void>((resolve) =>
    source.blocks$.subscribe({
      next: () => {
        if (pending) return;
        pending = true;
        void Promise.resolve().then(() => {
          pending = false;
          settledAt.push(source.counters.framesDelivered);
        });
      },
      complete: () => resolve(),
    }),
  );
  await source.open();
  await source.start();
  await done;
  // Never more than 10 ms (300 frames) of stream between two settlements (a burst can end sooner,
  // when it runs out of its ~10 ms of wall time, never later).
  assert.ok(settledAt.length >= 10, `${settledAt}`);
  settledAt.forEach((f, i) => assert.ok(f - (i ? settledAt[i - 1] : 0) <= 300, `${settledAt}`));
  assert.is(settledAt[settledAt.length - 1], 3000);
  await source.close();
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

test('paced by the host clock, the noise is drawn on a worker from open() to close(); a closed source does not open again', async () => {
  const source = new SimSource({ channels: 32, units: 4, seed: 3, realTime: true });
  assert.is(source.noiseThread, null);
  await source.open();
  assert.ok(source.noiseThread, 'open() started the noise thread');
  await source.close();
  try {
    await source.open();
    assert.unreachable('open() after close() must be refused');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'E_SOURCE_STATE');
  }
  const inPlace = new SimSource({ channels: 32, units: 4, seed: 3, realTime: true, noiseThread: false });
  await inPlace.open();
  assert.is(inPlace.noiseThread, null);
  await inPlace.close();
});

test.run();
