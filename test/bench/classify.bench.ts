// Cell-type classification off the acquisition thread.
//  1. Per-unit latency in the classifier worker (request arrival → probabilities posted: C4 waveform
//     + 3D-ACG + the ensemble's forward pass), one request at a time and in bursts of 32, for units
//     of 200 … 20 000 spikes; and the main-thread round trip.
//  2. The stimulation path with the classifier busy and idle: per 1 ms block (384 channels' worth
//     of spikes as a batch of 8), RuleEngine.onSpikes → SafetyGovernor → a fake sink's trigger,
//     synchronously, timed with the high-resolution clock; blocks paced by setImmediate so that the
//     worker's messages are handled between blocks exactly as live. "Busy": 32 classifications in
//     flight all the time (each result posts a new request).
// Model: models/cerebellum (or models/cortex) when present, else a small model trained here. Prints p50 / p99 / p99.9 / max.
// Runs alone: node --import tsx test/bench/classify.bench.ts
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { CellTypeTable } from '../../src/closedloop/rules/cell-type-table.js';
import { ClassifierClient } from '../../src/classify/worker/classifier-client.js';
import type { ResultMessage } from '../../src/classify/worker/protocol.js';
import { RuleEngine } from '../../src/closedloop/rules/rule-engine.js';
import { rulesSchema } from '../../src/closedloop/rules/rule-options.js';
import { SafetyGovernor } from '../../src/closedloop/safety-governor.js';
import { defaultSafetyConfig } from '../../src/closedloop/safety-options.js';
import * as s from '../../src/config/schema.js';
import { systemClock } from '../../src/core/clock.js';
import { packageRoot } from '../../src/core/package-root.js';
import { allocateSpikeBatch } from '../../src/core/spikes.js';
import { FakeLightSink } from '../helpers/fake-light-sink.js';
import { seededRandom } from '../helpers/seeded.js';
import { syntheticUnit, SYNTHETIC_CLASSES } from '../helpers/synthetic-units.js';
import { trainTinyModel } from '../helpers/tiny-model.js';

function quantiles(values: number[]): string {
  const v = [...values].sort((a, b) => a - b);
  const q = (p: number) => v[Math.min(v.length - 1, Math.floor(p * v.length))];
  return `p50 ${q(0.5).toFixed(1)}  p99 ${q(0.99).toFixed(1)}  p99.9 ${q(0.999).toFixed(1)}  max ${v[v.length - 1].toFixed(1)}  (n ${v.length})`;
}

const shipped = ['cerebellum', 'cortex'].map((name) => join(packageRoot(), 'models', name)).find((dir) => existsSync(join(dir, 'manifest.json')));
const modelDir = shipped ?? (await trainTinyModel('bench-classify', { members: 5, epochs: 5 }));
const client = await ClassifierClient.start({ modelDirectory: modelDir, backend: 'auto', log: () => {} });
console.log(`classify: model ${client.model.name} (${client.model.members} members, ${client.model.classes.length} classes) on ${client.backend}, ${cpus()[0]?.model ?? 'cpu'}`);

// Units of several sizes.
const random = seededRandom(1);
const units = [200, 1000, 5000, 20000].map((n, i) => syntheticUnit(SYNTHETIC_CLASSES[i % 3], `u${n}`, n, random));

async function latency(burst: number, rounds: number, spikes: number): Promise<{ worker: number[]; roundTrip: number[] }> {
  const unit = units.find((u) => u.spikeTimesS.length === spikes)!;
  const worker: number[] = [];
  const roundTrip: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const sent = new Map<number, number>();
    await new Promise<void>((resolve) => {
      let left = burst;
      client.onResult = (m: ResultMessage) => {
        worker.push(m.latencyUs);
        roundTrip.push((performance.now() - sent.get(m.requestId)!) * 1000);
        if (--left === 0) resolve();
      };
      for (let b = 0; b < burst; b++) sent.set(client.classify(b, Float32Array.from(unit.waveformUv), 30000, Float64Array.from(unit.spikeTimesS), null), performance.now());
    });
  }
  return { worker, roundTrip };
}

await latency(1, 20, 1000); // warm-up
for (const spikes of [200, 1000, 5000, 20000]) {
  const one = await latency(1, spikes >= 5000 ? 100 : 300, spikes);
  console.log(`  ${String(spikes).padStart(5)} spikes, one at a time: worker µs ${quantiles(one.worker)}; round trip µs ${quantiles(one.roundTrip)}`);
}
const burst = await latency(32, 20, 1000);
console.log(`   1000 spikes, bursts of 32: worker µs (arrival → result, queueing included) ${quantiles(burst.worker)}`);

// 2. Stimulation path.
const clock = systemClock;
const sink = new FakeLightSink(clock, 2);
const config = defaultSafetyConfig();
const governor = new SafetyGovernor(sink, { sinkName: 'leds', clock, config: { ...config, limits: { ...config.limits, maxPulsesPerMinute: 6000, maxDutyCycle: 0.5 } } });
await governor.open();
const cellTypes = new CellTypeTable(64);
cellTypes.set(3, 'PkC_ss', 5);
const rules = s.validate(rulesSchema, { 'pkc-spike': { when: { kind: 'unit-spike', cellType: 'PkC_ss', minConfidence: 2 }, action: { sink: 'leds', output: 0, train: { pulseWidthMs: 1 } }, refractoryMs: 20 } });
if (!rules.ok) throw new Error(JSON.stringify(rules.issues));
const engine = new RuleEngine({ rules: rules.value, sinks: new Map([['leds', governor]]), cellTypes });
await engine.programSinks();
const batch = allocateSpikeBatch('bench', 30000, 16);

async function stimPath(blocks: number, busy: boolean): Promise<number[]> {
  let keepBusy = busy;
  const unit = units[1];
  client.onResult = () => {
    if (keepBusy) client.classify(0, Float32Array.from(unit.waveformUv), 30000, Float64Array.from(unit.spikeTimesS), null);
  };
  if (busy) for (let i = 0; i < 32; i++) client.classify(0, Float32Array.from(unit.waveformUv), 30000, Float64Array.from(unit.spikeTimesS), null);
  const times: number[] = [];
  for (let b = 0; b < blocks; b++) {
    batch.count = 8;
    for (let k = 0; k < 8; k++) {
      batch.unitId[k] = k === 0 ? 3 : 10 + k;
      batch.peakSampleIndex[k] = b * 30 + k;
    }
    const t0 = performance.now();
    batch.sourceReceiveTimeNs = t0 * 1e6;
    engine.onSpikes(batch);
    times.push((performance.now() - t0) * 1000);
    await new Promise((r) => setImmediate(r));
  }
  keepBusy = false;
  while (client.inFlight > 0) await new Promise((r) => setTimeout(r, 5));
  return times;
}

await stimPath(2000, false);
const idle = await stimPath(20000, false);
const busyTimes = await stimPath(20000, true);
console.log(`stimulation path (rule → governor → fake sink), per 1 ms block of 8 spikes; triggers accepted ${engine.fired[0]}, refused by the governor's limits ${engine.refused[0]} (both paths timed):`);
console.log(`  classifier idle: µs ${quantiles(idle)}`);
console.log(`  classifier busy: µs ${quantiles(busyTimes)}`);
await client.close();
await governor.close();
