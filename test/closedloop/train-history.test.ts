import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SeededRandom } from '../../src/closedloop/prng.js';
import { TrainHistory, maxOnTimeInWindowNs, maxPulsesInWindow } from '../../src/closedloop/train-history.js';

interface Train {
  start: number;
  width: number;
  interval: number;
  count: number;
}

/** Brute force over every pulse: light-on time and onsets at or after t. */
function brute(trains: Train[], t: number): { on: number; pulses: number } {
  let on = 0;
  let pulses = 0;
  for (const tr of trains) {
    for (let k = 0; k < tr.count; k++) {
      const a = tr.start + k * (tr.count > 1 ? tr.interval : tr.width);
      on += Math.max(0, a + tr.width - Math.max(a, t));
      if (a >= t) pulses++;
    }
  }
  return { on, pulses };
}

test('on-time and onsets since t match a brute-force count (seeded random trains, ring wrapping)', () => {
  const rand = new SeededRandom(42);
  const h = new TrainHistory(50);
  const kept: Train[] = [];
  let t = 0;
  for (let i = 0; i < 400; i++) {
    const count = rand.next() < 0.5 ? 1 : 1 + Math.floor(rand.next() * 8);
    const width = 1 + Math.floor(rand.next() * 20);
    const interval = width + Math.floor(rand.next() * 30);
    const train = { start: t + Math.floor(rand.next() * 50), width, interval, count };
    h.append(train.start, width, interval, count);
    kept.push(train);
    if (kept.length > 50) kept.shift();
    t = train.start + (count - 1) * (count > 1 ? interval : width) + width;
    // Query anywhere from inside the oldest kept train to beyond the newest.
    for (let q = 0; q < 5; q++) {
      const at = kept[0].start + (kept[0].width - 1) + rand.next() * (t - kept[0].start + 40);
      const b = brute(kept, at);
      assert.ok(Math.abs(h.onTimeSinceNs(at) - b.on) < 1e-9, `train ${i}, t ${at}: on ${h.onTimeSinceNs(at)} vs ${b.on}`);
      assert.is(h.pulsesSince(at), b.pulses, `train ${i}, t ${at}`);
    }
  }
});

test('truncation keeps the pulses already started, whole; an unstarted train is dropped', () => {
  const h = new TrainHistory(8);
  h.append(0, 10, 100, 5); // pulses at 0, 100, 200, 300, 400
  assert.is(h.truncateAt(150), 110);
  assert.is(h.pulsesSince(0), 2);
  assert.is(h.onTimeSinceNs(0), 20);
  h.append(1000, 10, 0, 1);
  assert.is(h.truncateAt(500), 110, 'the train starting at 1 000 had not started: dropped');
  assert.is(h.size, 1);
});

test('the most a regular train can put in a window, by hand', () => {
  // 10 ns pulses every 25 ns, 8 pulses, 60 ns window: 2 whole periods (20 ns) + min(10, 60 − 50) = 30.
  assert.is(maxOnTimeInWindowNs(10, 25, 8, 60), 30);
  assert.is(maxOnTimeInWindowNs(10, 25, 2, 1000), 20, 'capped at the whole train');
  assert.is(maxOnTimeInWindowNs(500, 500, 1, 100), 100, 'one long pulse fills the window');
  // Onsets in a half-open minute: 1 Hz → 60, not 61; 0.7 s apart → ⌈85.7⌉ = 86.
  assert.is(maxPulsesInWindow(1e9, 1000, 60e9), 60);
  assert.is(maxPulsesInWindow(0.7e9, 1000, 60e9), 86);
  assert.is(maxPulsesInWindow(1e9, 5, 60e9), 5);
});

test.run();
