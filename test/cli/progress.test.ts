import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../../src/core/clock.js';
import { formatDuration, ProgressBar } from '../../src/cli/progress.js';

function bar(isTty: boolean, totalFrames: number | null = 30 * 30000) {
  const clock = new ManualClock(1e9);
  const out: string[] = [];
  const progress = new ProgressBar({ out: (t) => out.push(t), isTty, clock, sampleRateHz: 30000, totalFrames, label: 'replay', width: 20 });
  return { clock, out, progress };
}

test('draws in place on a terminal: fraction, stream time, speed, ETA', () => {
  const { clock, out, progress } = bar(true);
  progress.update(0);
  assert.is(out.length, 1);
  assert.is(out[0], '\rreplay  [--------------------]    0.0%  0:00.0 / 0:30.0  --× real time  ETA --\x1b[K');
  // 3 s of wall time, 12.6 s of stream: 4.2× real time; 17.4 s left → 4.14 s → ETA 0:05.
  clock.advanceMs(3000);
  progress.update(12.6 * 30000);
  assert.is(out[1], '\rreplay  [########------------]   42.0%  0:12.6 / 0:30.0  4.2× real time  ETA 0:05\x1b[K');
  clock.advanceMs(4143);
  progress.finish(30 * 30000);
  assert.match(out[2], '[####################]  100.0%  0:30.0 / 0:30.0');
  assert.match(out[2], 'ETA 0:00');
  assert.is(out[3], '\n');
  progress.update(1);
  assert.is(out.length, 4, 'nothing after finish');
});

test('redraws at most every 100 ms however often it is updated', () => {
  const { clock, out, progress } = bar(true);
  for (let i = 0; i < 1000; i++) {
    progress.update(i * 30);
    clock.advanceMs(1);
  }
  // Draws at 0, 100, …, 900 ms.
  assert.is(out.length, 10);
});

test('prints nothing at all when the output is not a terminal', () => {
  const { clock, out, progress } = bar(false);
  progress.update(0);
  clock.advanceMs(500);
  progress.update(1000);
  progress.clear();
  progress.finish(2000);
  assert.equal(out, []);
});

test('without a known total (looping): stream time and speed only; clear() erases the line', () => {
  const { clock, out, progress } = bar(true, null);
  progress.update(0);
  clock.advanceMs(2000);
  progress.update(30000 * 65);
  assert.is(out[1], '\rreplay  1:05.0  33× real time\x1b[K');
  progress.clear();
  assert.is(out[2], '\r\x1b[K');
});

test('durations: tenths below an hour, h:mm:ss above, ETA rounded up to whole seconds', () => {
  assert.is(formatDuration(0), '0:00.0');
  assert.is(formatDuration(9.99), '0:09.9');
  assert.is(formatDuration(61.25), '1:01.2');
  assert.is(formatDuration(3725.7), '1:02:05');
  assert.is(formatDuration(4.14, false), '0:05');
  assert.is(formatDuration(59.5, false), '1:00');
  assert.is(formatDuration(-3), '0:00.0');
});

test.run();
