// The classification scheduler posts at most maxPerTick requests per tick (most urgent first), so a
// burst of due units is spread over several maintenance passes instead of one long block-path task.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OnlineClassifier, type ReclassifyPolicy } from '../../../src/classify/online/online-classifier.js';
import type { UnitTracker } from '../../../src/classify/online/unit-tracker.js';
import type { ClassifierClient } from '../../../src/classify/worker/classifier-client.js';

function world(unitCount: number) {
  const posted: number[] = [];
  const features = { spikeCount: 500, sampleRateHz: 30000, firstSpikeS: 0, lastSpikeS: 10, spikeTimes: () => new Float64Array(500) };
  const tracker = {
    unitIds: () => Array.from({ length: unitCount }, (_, i) => i),
    get: () => features,
    meanPeakWaveform: () => new Float32Array(91),
    layerOfChannel: () => null,
    peakChannelOf: () => 0,
  } as unknown as UnitTracker;
  let nextId = 1;
  const client = {
    model: { name: 'fake', classes: ['a', 'b'] },
    classify: (unitId: number) => {
      posted.push(unitId);
      return nextId++;
    },
  } as unknown as ClassifierClient;
  return { tracker, client, posted };
}

const policy: ReclassifyPolicy = { minSpikes: 100, growthFactor: 2, everyS: 30, maxInFlight: 32, maxPerTick: 8, abstainBelowRatio: 2 };

test('a burst of due units is posted maxPerTick at a time, lowest ids (never-classified) first', () => {
  const { tracker, client, posted } = world(20);
  const scheduler = new OnlineClassifier(tracker, client, policy, null);
  scheduler.tick(10);
  assert.equal(posted, [0, 1, 2, 3, 4, 5, 6, 7]);
  scheduler.tick(10.25);
  assert.equal(posted.slice(8), [8, 9, 10, 11, 12, 13, 14, 15]);
  scheduler.tick(10.5);
  assert.equal(posted.slice(16), [16, 17, 18, 19]);
  assert.is(scheduler.inFlight, 20);
});

test('maxInFlight still bounds what is outstanding across ticks', () => {
  const { tracker, client, posted } = world(20);
  const scheduler = new OnlineClassifier(tracker, client, { ...policy, maxInFlight: 10 }, null);
  scheduler.tick(10);
  scheduler.tick(10.25);
  scheduler.tick(10.5);
  assert.is(posted.length, 10);
});

test.run();
