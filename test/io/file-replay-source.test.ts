import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { VirtualAction, VirtualTimeScheduler, type SchedulerLike } from 'rxjs';
import { ManualClock, systemClock, type MonotonicClock } from '../../src/core/clock.js';
import { cloneBlock, type Int16SampleBlock, type SampleBlock } from '../../src/core/sample-block.js';
import { FileReplaySource, type FileReplayOptions } from '../../src/io/file-replay-source.js';
import { RawReader } from '../../src/io/raw/reader.js';
import { RawWriter } from '../../src/io/raw/writer.js';
import { artifactDir } from '../helpers/paths.js';
import { randomInt16 } from '../helpers/seeded.js';
import { expectRejection } from '../helpers/expect-error.js';
import { firstDifference } from '../helpers/replay.js';
import { withGuard } from '../helpers/async.js';

const dir = (() => {
  rmSync(artifactDir('io-replay'), { recursive: true, force: true });
  return artifactDir('io-replay');
})();

const RATE = 30000;
const CHANNELS = 5;

/** A 2 s raw recording (60 000 frames of 5 channels) starting at sample 1000. */
function twoSecondFile(name: string): { path: string; words: Int16Array } {
  const path = join(dir, `${name}.bin`);
  const words = randomInt16(2 * RATE * CHANNELS, 99);
  const writer = new RawWriter({ dataPath: path, sampleRateHz: RATE, channelCount: CHANNELS, uvPerCount: 0.195, firstSampleIndex: 1000 });
  writer.writeFrames(words, 2 * RATE);
  writer.close();
  return { path, words };
}

/** Virtual time: a scheduler whose frames are ms and a clock that reads it. */
function virtualTime(maxMs = Infinity): { scheduler: VirtualTimeScheduler; clock: MonotonicClock } {
  const scheduler = new VirtualTimeScheduler(VirtualAction, maxMs);
  return { scheduler, clock: { nowNs: () => scheduler.now() * 1e6 } };
}

interface Emission {
  block: Int16SampleBlock;
  atNs: number;
  same: boolean;
}

function record(source: FileReplaySource, clock: MonotonicClock): { emissions: Emission[]; completed: () => boolean; error: () => unknown } {
  const emissions: Emission[] = [];
  let completed = false;
  let error: unknown = null;
  let previous: SampleBlock | null = null;
  source.blocks$.subscribe({
    next: (block) => {
      emissions.push({ block: cloneBlock(block) as Int16SampleBlock, atNs: clock.nowNs(), same: previous === block });
      previous = block;
    },
    complete: () => (completed = true),
    error: (e) => (error = e),
  });
  return { emissions, completed: () => completed, error: () => error };
}

test('speed 1: a 2 s file takes 2 s of virtual time, each block emitted when its last frame is due', async () => {
  const { path, words } = twoSecondFile('speed1');
  const { scheduler, clock } = virtualTime();
  const source = new FileReplaySource(new RawReader(path), { blockFrames: 300, clock, scheduler });
  await source.open();
  const rec = record(source, clock);
  await source.start();
  assert.is(rec.emissions.length, 0, 'nothing is due at t = 0');
  scheduler.flush();
  assert.ok(rec.completed());
  assert.is(rec.emissions.length, 200);
  rec.emissions.forEach((e, k) => {
    const dueNs = ((k + 1) * 300 * 1e9) / RATE;
    assert.ok(Math.abs(e.atNs - dueNs) < 1000, `block ${k} at ${e.atNs} ns, due ${dueNs}`);
    assert.is(e.block.hostReceiveTimeNs, e.atNs);
    assert.is(e.block.firstSampleIndex, 1000 + k * 300);
  });
  assert.ok(Math.abs(scheduler.now() - 2000) < 1e-6, `finished at ${scheduler.now()} ms`);
  const all = new Int16Array(words.length);
  rec.emissions.forEach((e, k) => all.set(e.block.samples, k * 300 * CHANNELS));
  assert.is(firstDifference(all, words), -1);
  assert.equal(
    { ...source.counters },
    { blocksDelivered: 200, framesDelivered: 60000, blocksDropped: 0, framesDropped: 0, blocksOverflowed: 0 },
  );
  assert.is(source.state, 'stopped');
  assert.ok(source.ended);
  await expectRejection(source.start(), 'E_SOURCE_STATE', 'start()', 'a file that has not ended');
  await source.close();
});

test('speed 4 takes 0.5 s; a partial last block is emitted at the file end', async () => {
  const { path } = twoSecondFile('speed4');
  const { scheduler, clock } = virtualTime();
  const source = new FileReplaySource(new RawReader(path), { blockFrames: 7000, speed: 4, clock, scheduler });
  await source.open();
  const rec = record(source, clock);
  await source.start();
  scheduler.flush();
  assert.is(rec.emissions.length, 9);
  assert.is(rec.emissions[8].block.frameCount, 60000 - 8 * 7000);
  assert.ok(Math.abs(rec.emissions[8].atNs - 0.5e9) < 1000);
  assert.ok(Math.abs(rec.emissions[0].atNs - (7000 / RATE / 4) * 1e9) < 1000);
});

test('pacing does not drift: timers that always fire 0.7 ms late delay blocks by at most that, never cumulatively', async () => {
  const { path } = twoSecondFile('late');
  const { scheduler, clock } = virtualTime();
  const late: SchedulerLike = {
    now: () => scheduler.now(),
    schedule: (work: any, delay?: number, state?: unknown) => scheduler.schedule(work, (delay ?? 0) + 0.7, state),
  } as SchedulerLike;
  const source = new FileReplaySource(new RawReader(path), { blockFrames: 30, clock, scheduler: late });
  await source.open();
  const rec = record(source, clock);
  await source.start();
  scheduler.flush();
  assert.is(rec.emissions.length, 2000);
  let worstNs = 0;
  rec.emissions.forEach((e, k) => {
    const dueNs = ((k + 1) * 30 * 1e9) / RATE;
    assert.ok(e.atNs >= dueNs - 1000, `block ${k} early`);
    worstNs = Math.max(worstNs, e.atNs - dueNs);
  });
  // One wake-up's lateness at most (an accumulating pacer would be 2000 × 0.7 ms behind).
  assert.ok(worstNs <= 0.7e6 + 1000, `worst lateness ${worstNs} ns`);
  assert.ok(scheduler.now() <= 2000.7 + 1e-6);
});

test('as fast as possible: every block without the clock moving, in order, the block object reused (borrowed)', async () => {
  const { path, words } = twoSecondFile('max');
  const clock = new ManualClock(5);
  const yields: number[] = [];
  const source = new FileReplaySource(new RawReader(path), {
    blockFrames: 1000,
    realTime: false,
    clock,
    maxSpeedBatchFrames: 10000,
    yieldToEventLoop: (resume) => {
      yields.push(source.counters.blocksDelivered);
      setImmediate(resume);
    },
  });
  await source.open();
  const rec = record(source, clock);
  const done = new Promise<void>((resolve) => source.blocks$.subscribe({ complete: resolve }));
  await source.start();
  await done;
  assert.is(rec.emissions.length, 60);
  assert.ok(rec.emissions.slice(1).every((e) => e.same), 'the same block object every time');
  assert.ok(rec.emissions.every((e) => e.atNs === 5 && e.block.hostReceiveTimeNs === 5));
  assert.equal(yields, [10, 20, 30, 40, 50]);
  const all = new Int16Array(words.length);
  rec.emissions.forEach((e, k) => all.set(e.block.samples, k * 1000 * CHANNELS));
  assert.is(firstDifference(all, words), -1);
});

test('as fast as possible honours a consumer that is not ready: nothing more until its promise resolves', async () => {
  const { path } = twoSecondFile('backpressure');
  let release: () => void = () => {};
  let asked = 0;
  const source = new FileReplaySource(new RawReader(path), {
    blockFrames: 1000,
    realTime: false,
    clock: new ManualClock(),
    maxSpeedBatchFrames: 5000,
    readyForMore: () => {
      asked++;
      return asked === 1 ? new Promise<void>((resolve) => (release = resolve)) : null;
    },
  });
  await source.open();
  let count = 0;
  const done = new Promise<void>((resolve) => source.blocks$.subscribe({ next: () => count++, complete: resolve }));
  await source.start();
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  assert.is(count, 5, 'stopped after the first batch while the consumer is busy');
  release();
  await done;
  assert.is(count, 60);
});

test('loop: the second pass continues the sample indices, device timestamps repeat, passes are counted', async () => {
  const path = join(dir, 'loop.bin');
  const writer = new RawWriter({ dataPath: path, sampleRateHz: 1000, channelCount: 3, uvPerCount: 1, firstSampleIndex: 50 });
  writer.writeFrames(Int16Array.from({ length: 3 * 250 }, (_, i) => i), 250);
  writer.close();
  const { scheduler, clock } = virtualTime(600);
  const source = new FileReplaySource(new RawReader(path), { blockFrames: 100, loop: true, clock, scheduler });
  await source.open();
  const rec = record(source, clock);
  await source.start();
  scheduler.flush();
  // 600 ms at 1 kHz: 6 blocks of 100 frames except the file's 50-frame tail every 250 frames.
  assert.equal(rec.emissions.map((e) => [e.block.firstSampleIndex, e.block.frameCount]), [
    [50, 100], [150, 100], [250, 50], [300, 100], [400, 100], [500, 50], [550, 100],
  ]);
  assert.is(rec.emissions[3].block.samples[0], 0, 'the second pass starts at the file start');
  assert.is(source.passes, 2);
  assert.is(source.counters.framesDropped, 0);
  assert.ok(Math.abs(rec.emissions[6].atNs - 600e6) < 1000);
  assert.ok(!rec.completed());
  await source.stop();
  await source.close();
  assert.ok(rec.completed(), 'blocks$ completes on close');
});

test('state machine: E_SOURCE_STATE out of order; stop and start resume where they were, re-anchored in time', async () => {
  const { path } = twoSecondFile('states');
  const { scheduler, clock } = virtualTime();
  const source = new FileReplaySource(() => new RawReader(path), { blockFrames: 3000, clock, scheduler });
  assert.is(source.state, 'closed');
  await expectRejection(source.start(), 'E_SOURCE_STATE', 'start() in state "closed"', 'expected "opened" or "stopped"');
  await expectRejection(source.stop(), 'E_SOURCE_STATE', 'stop() in state "closed"');
  await source.open();
  assert.is(source.state, 'opened');
  assert.is(source.info!.totalFrames, 60000);
  await expectRejection(source.open(), 'E_SOURCE_STATE', 'open() in state "opened"');
  const rec = record(source, clock);
  await source.start();
  await expectRejection(source.start(), 'E_SOURCE_STATE', 'start() in state "running"');
  // Run to 0.35 s: blocks ending at 0.1, 0.2, 0.3 s.
  scheduler.schedule(() => void source.stop(), 350);
  scheduler.flush();
  assert.is(source.state, 'stopped');
  assert.is(rec.emissions.length, 3);
  // A pause of 1 s, then resume: the next block is due 0.1 s after the restart.
  scheduler.schedule(() => void source.start(), 1000);
  scheduler.flush();
  assert.is(rec.emissions.length, 20);
  assert.ok(Math.abs(rec.emissions[3].atNs - 1.45e9) < 1000, `resumed block at ${rec.emissions[3].atNs}`);
  assert.is(rec.emissions[3].block.firstSampleIndex, 1000 + 9000);
  await source.close();
  await source.close();
  assert.is(source.state, 'closed');
  await expectRejection(source.open(), 'E_SOURCE_STATE', 'open()', 'a source that was not closed');
});

test('a file that shrinks during replay fails the source: state failed, blocks$ errors with the file and offset', async () => {
  const { path } = twoSecondFile('shrink');
  const source = new FileReplaySource(new RawReader(path), { blockFrames: 30000, realTime: false, clock: new ManualClock() });
  await source.open();
  truncateSync(path, 1000);
  const failure = new Promise<unknown>((resolve) => source.blocks$.subscribe({ error: resolve }));
  await source.start();
  const error = (await failure) as Error & { code: string };
  assert.is(error.code, 'E_FILE_TRUNCATED');
  assert.match(error.message, path);
  assert.match(error.message, 'at byte 1000');
  assert.is(source.state, 'failed');
  await source.close();
});

test('a consumer may stop the source from inside next(): no further block is emitted, in either pace', async () => {
  const { path } = twoSecondFile('stop-inside');
  for (const realTime of [true, false]) {
    const { scheduler, clock } = virtualTime();
    const source = new FileReplaySource(new RawReader(path), { blockFrames: 100, realTime, clock, scheduler });
    await source.open();
    let count = 0;
    source.blocks$.subscribe(() => {
      if (++count === 7) void source.stop();
    });
    await source.start();
    scheduler.flush();
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    assert.is(count, 7, realTime ? 'real time' : 'max speed');
    assert.is(source.state, 'stopped');
    assert.is(source.framesIntoFile, 700);
    await source.close();
  }
});

test('close() before open() completes blocks$ and makes the source final', async () => {
  const source = new FileReplaySource(() => {
    throw new Error('never opened');
  });
  let completed = false;
  source.blocks$.subscribe({ complete: () => (completed = true) });
  await source.close();
  assert.ok(completed);
  await expectRejection(source.open(), 'E_SOURCE_STATE', 'a source that was not closed');
});

test('options are validated when the source is built', () => {
  const reader = { } as never;
  const bad = (options: FileReplayOptions, fragment: string) => {
    try {
      new FileReplaySource(reader, options);
      assert.unreachable();
    } catch (error) {
      assert.is((error as { code: string }).code, 'E_OPTIONS_INVALID');
      assert.match((error as Error).message, fragment);
    }
  };
  bad({ blockFrames: 0 }, 'blockFrames: expected a positive integer, got 0');
  bad({ speed: -1 }, 'speed: expected a positive number, got -1');
});

test('real time on the system clock (its own PreciseScheduler): no block before its last frame is due, every frame, the run ends cleanly', async () => {
  const { path } = twoSecondFile('system-clock');
  // Speed 20: the 2 s file in ~0.1 s of wall time, 30-frame blocks every 50 µs.
  const source = new FileReplaySource(new RawReader(path), { blockFrames: 30, speed: 20 });
  await source.open();
  const earlyUs: number[] = [];
  let frames = 0;
  let startNs = 0;
  const done = new Promise<void>((resolve, reject) =>
    source.blocks$.subscribe({
      next: (b) => {
        frames += b.frameCount;
        const dueNs = startNs + ((b.firstSampleIndex + b.frameCount - 1000) / RATE / 20) * 1e9;
        if (b.hostReceiveTimeNs < dueNs - 1000) earlyUs.push((dueNs - b.hostReceiveTimeNs) / 1000);
      },
      complete: resolve,
      error: reject,
    }),
  );
  startNs = systemClock.nowNs();
  await source.start();
  await withGuard(done, 10_000, 'a 0.1 s real-time replay');
  assert.is(frames, 2 * RATE);
  assert.equal(earlyUs, [], 'blocks emitted before their last frame was due (µs early; 1 µs allowed for the start anchor)');
  await source.close();
});

test.run();
