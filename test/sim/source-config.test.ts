// A rig config's `source: {kind: sim}` section validates with defaults filled in, rejects bad
// values with their path, and builds a source + light sink that run.
import { VirtualTimeScheduler } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validate } from '../../src/config/schema.js';
import { rigConfigSchema } from '../../src/config/rig-config.js';
import { createSimFromConfig, type SimSourceConfig } from '../../sim/source-config.js';

test('defaults are filled in', () => {
  const r = validate(rigConfigSchema, { source: { kind: 'sim', preset: 'cerebellum', channels: 32 } });
  assert.ok(r.ok);
  if (!r.ok) return;
  const src = r.value.source as SimSourceConfig;
  assert.is(src.preset, 'cerebellum');
  assert.is(src.seed, 1);
  assert.is(src.blockFrames, 30);
  assert.is(src.realTime, true);
  assert.is(src.snrMin, 4);
  assert.is(src.opsin, null);
});

test('bad values name their path and what was expected', () => {
  const r = validate(rigConfigSchema, { source: { kind: 'sim', preset: 'hippocampus', lineNoiseHz: 55, snrMin: -1 } });
  assert.not.ok(r.ok);
  if (r.ok) return;
  const text = r.issues.map((i) => `${i.path}: ${i.message}`).join('\n');
  assert.match(text, /source\.preset: expected one of "cortex", "cerebellum"/);
  assert.match(text, /source\.lineNoiseHz/);
  assert.match(text, /source\.snrMin: expected a positive number/);
});

test('the configured source runs and its light sink reaches the tissue', async () => {
  const r = validate(rigConfigSchema, { source: { kind: 'sim', channels: 32, units: 8, durationS: 2, seed: 3, opsin: ['pyramidal', 'PV', 'SST', 'VIP'] } });
  assert.ok(r.ok);
  if (!r.ok) return;
  const scheduler = new VirtualTimeScheduler(undefined, Infinity);
  const clock = { nowNs: () => scheduler.now() * 1e6 };
  const { source, light } = createSimFromConfig(r.value.source as SimSourceConfig, { clock, scheduler });
  await light.open();
  await light.program(0, { pulseWidthMs: 10, pulseIntervalMs: 10, pulseCount: 1, delayMs: 0, level: 1 });
  let blocks = 0;
  source.blocks$.subscribe(() => {
    if (++blocks % 200 === 0) light.trigger(1, { reason: 'test', streamId: null, sampleIndex: null, sourceReceiveTimeNs: null });
  });
  await source.open();
  await source.start();
  scheduler.flush();
  assert.is(blocks, 2000);
  const gt = source.simulation.generator.groundTruth;
  assert.is(gt.pulses.length, 9); // blocks 200, 400, … 1800: each pulse lands in the following block
  let evoked = 0;
  for (let i = 0; i < gt.spikeCount; i++) evoked += gt.spikeEvoked[i];
  assert.ok(evoked > 0, 'light-evoked spikes');
  await source.close();
  await light.close();
});

test.run();
