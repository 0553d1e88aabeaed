// The daemon's unit stage: OnlineUnits behind the rig config's classifier section. Spikes of a
// simulated stream get unit ids before the closed loop reads the batch, units carry features, and
// with a model each unit with enough spikes is classified in the worker while the stream runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateRigConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { MemoryLog } from '../../src/daemon/log.js';
import { trainTinyModel } from '../helpers/tiny-model.js';

function config(classifier: Record<string, unknown>, pipeline: Record<string, unknown> = {}) {
  return validateRigConfig({
    rig: 'units-rig',
    source: { kind: 'sim', preset: 'cortex', probe: 'A1x32-Poly3-10mm-50-177', channels: 32, seed: 5, realTime: false, durationS: 20 },
    sinks: { stim: { kind: 'sim' } },
    bus: { enabled: false },
    dashboard: { enabled: false },
    pipeline,
    classifier,
  });
}

test('units are assigned live and classified by the configured model', async () => {
  const model = await trainTinyModel('daemon-unit-stage');
  const log = new MemoryLog();
  const daemon = await Daemon.start(config({ model, backend: 'wasm' }), { log });
  await daemon.done;
  const units = daemon.units!.units();
  assert.ok(units.length >= 3, `units ${units.length}`);
  assert.ok(units.some((u) => u.classification !== null), 'some unit was classified while the stream ran');
  for (const u of units) assert.ok(u.spikeCount > 0 && u.meanWaveformUv.length > 0);
  assert.ok(log.lines.some((l) => /units by online clustering; cell types by model/.test(l.message)), JSON.stringify(log.lines.slice(0, 20)));
  await daemon.stop();
});

test('disabled, or a peak-only pipeline: no unit stage, and the log says why', async () => {
  const off = new MemoryLog();
  const a = await Daemon.start(config({ enabled: false }), { log: off });
  await a.done;
  assert.is(a.units, null);
  assert.ok(off.lines.some((l) => /classifier\.enabled is false/.test(l.message)));
  await a.stop();
  const peak = new MemoryLog();
  const b = await Daemon.start(config({}, { snippets: { mode: 'peak-only' } }), { log: peak });
  await b.done;
  assert.is(b.units, null);
  assert.ok(peak.lines.some((l) => /peak-only: no waveforms/.test(l.message)));
  await b.stop();
});

test('snippets too short for the matching window: the daemon refuses the config at start, naming the setting', async () => {
  let caught: unknown = null;
  try {
    const d = await Daemon.start(config({}, { snippets: { samplesBefore: 30, samplesAfter: 5 } }), { log: new MemoryLog() });
    await d.stop();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught, 'Daemon.start should have rejected');
  const e = caught as { code?: string; message: string };
  assert.is(e.code, 'E_OPTIONS_INVALID');
  assert.match(e.message, /samplesAfter ≥ \d+/);
});

/** Every rule trigger's delay on the stream clock: the light's onset (sim light: the next block's start) minus the causing spike's trough. */
async function triggerDelays(pipeline: Record<string, unknown>): Promise<{ delays: number[]; log: MemoryLog; daemon: Daemon }> {
  const c = config({}, pipeline);
  c.source = { ...c.source, durationS: 12 } as typeof c.source;
  c.rules = validateRigConfig({
    rig: 'x',
    source: { kind: 'sim' },
    sinks: { stim: { kind: 'sim' } },
    rules: { any: { when: { kind: 'unit-spike', units: Array.from({ length: 512 }, (_, u) => u) }, action: { sink: 'stim', output: 0, train: { pulseWidthMs: 0.5, level: 0.1 } }, refractoryMs: 100 } },
  }).rules;
  const log = new MemoryLog();
  const daemon = await Daemon.start(c, { log });
  const delays: number[] = [];
  daemon.acks$.subscribe(({ ack }) => {
    if (ack.kind === 'trigger' && ack.ok && ack.cause?.reason === 'rule:any' && ack.cause.sampleIndex !== null && ack.deviceTimeUs !== null) delays.push(Math.round((ack.deviceTimeUs * 30_000) / 1e6) - ack.cause.sampleIndex);
  });
  await daemon.done;
  await daemon.stop();
  return { delays, log, daemon };
}

test('early identification: a unit rule fires in the block that reports the spike, not 2 ms later with the full snippet', async () => {
  const early = await triggerDelays({ snippets: { earlySamplesAfter: 12 } });
  const full = await triggerDelays({});
  assert.ok(early.delays.length >= 20 && full.delays.length >= 20, `${early.delays.length} and ${full.delays.length} triggers`);
  // The spike is reported 12 samples after its trough (the detector's peak window); the sim light
  // starts with the next 30-frame block. Without early identification the full snippet (60 samples after) is awaited.
  assert.ok(Math.max(...early.delays) <= 12 + 30, `early: delays ${Math.min(...early.delays)}…${Math.max(...early.delays)} samples`);
  assert.ok(Math.min(...early.delays) > 12, `early: delays ${Math.min(...early.delays)}…${Math.max(...early.delays)} samples`);
  assert.ok(Math.min(...full.delays) > 60, `full: delays ${Math.min(...full.delays)}…${Math.max(...full.delays)} samples`);
  assert.match(early.log.text(), /early identification: the rules act on unit ids matched 12 samples \(0\.40 ms\) after the trough/);
  assert.match(early.log.text(), /early ids: \d+\.\d % of \d+ assigned spikes got the same unit early/);
  assert.not.match(full.log.text(), /early ids:/);
});

test('early snippets too short to match on: the daemon refuses the config at start, naming the setting', async () => {
  let caught: unknown = null;
  try {
    const d = await Daemon.start(config({}, { snippets: { earlySamplesAfter: 1 } }), { log: new MemoryLog() });
    await d.stop();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught, 'Daemon.start should have rejected');
  assert.match((caught as Error).message, /earlySamplesAfter ≥ 2 \(or 0: off\), got 1/);
});

test.run();
