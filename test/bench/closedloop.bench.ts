// Closed-loop hot paths, per call: the governor's trigger (accepted and refused), the rules on a
// spike batch, a latency-histogram record, the optotag session per 1 ms block (spikes with snippets
// + poll, including the blocks that finalise pulses and take decisions), the BCI output per block.
// Prints p50 / p99 / p99.9 / max (µs) with the load (units, spikes per block, probe channels the
// snippets span) and the number of garbage collections during the timed loop (0 = nothing
// allocated that the young generation had to collect). Runs alone:
//   node --import tsx test/bench/closedloop.bench.ts
import { cpus } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { Subject } from 'rxjs';
import { BciOutput } from '../../src/closedloop/bci/bci-output.js';
import { binData, fitDecoder } from '../../src/closedloop/bci/fit.js';
import { LatencyHistogram } from '../../src/closedloop/latency-histogram.js';
import { defaultOptotagConfig } from '../../src/closedloop/optotag-config.js';
import { OptotagSession } from '../../src/closedloop/optotag-session.js';
import { CellTypeTable } from '../../src/closedloop/rules/cell-type-table.js';
import { RuleEngine } from '../../src/closedloop/rules/rule-engine.js';
import { rulesSchema } from '../../src/closedloop/rules/rule-options.js';
import { SafetyGovernor } from '../../src/closedloop/safety-governor.js';
import { defaultSafetyConfig } from '../../src/closedloop/safety-options.js';
import * as s from '../../src/config/schema.js';
import type { MonotonicClock } from '../../src/core/clock.js';
import { allocateSpikeBatch } from '../../src/core/spikes.js';
import type { PulseTrainSpec, SinkInfo, StimulusAck, StimulusCause, StimulusSink } from '../../src/core/stimulus-sink.js';
import { makeBciWorld } from '../helpers/bci-world.js';
import { OptotagWorld } from '../helpers/optotag-world.js';

let gcs = 0;
new PerformanceObserver((list) => (gcs += list.getEntries().length)).observe({ entryTypes: ['gc'] });
/** GC entries reach the observer asynchronously: let them arrive before reading the count. */
async function gcCount(): Promise<number> {
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 5));
  return gcs;
}

/**
 * Times `calls` calls of step(i), then makes `allocationCalls` more calls untimed (the timer itself
 * allocates) and counts the garbage collections they caused: 0 over a million calls means the step
 * allocates nothing the young generation had to collect.
 */
async function measure(name: string, load: () => string, calls: number, allocationCalls: number, step: (i: number) => void): Promise<void> {
  const times = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    step(i);
    times[i] = (performance.now() - t0) * 1000;
  }
  const before = await gcCount();
  for (let i = 0; i < allocationCalls; i++) step(calls + i);
  const collections = (await gcCount()) - before;
  const sorted = times.sort();
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  console.log(
    `${name} (${load()}; ${calls} timed calls; ${cpus()[0]?.model ?? 'cpu'})\n` +
      `  µs: p50 ${q(0.5).toFixed(2)}  p99 ${q(0.99).toFixed(2)}  p99.9 ${q(0.999).toFixed(2)}  max ${sorted[sorted.length - 1].toFixed(2)}   GCs in ${allocationCalls} untimed calls: ${collections}`,
  );
}

/**
 * A virtual clock whose time lives in a typed array: ManualClock keeps it in an object field, which
 * V8 may box on every update, and the harness must not allocate what it measures.
 */
class TypedClock implements MonotonicClock {
  private readonly t = new Float64Array([1e9]);
  nowNs(): number {
    return this.t[0];
  }
  advanceMs(ms: number): void {
    this.t[0] += ms * 1e6;
  }
  advanceNs(ns: number): void {
    this.t[0] += ns;
  }
}

/** A sink that does nothing but count: the governor's own cost, not a device's. */
class NullSink implements StimulusSink {
  readonly kind = 'null';
  readonly state = 'opened' as const;
  info: SinkInfo | null = { description: 'null', outputCount: 2, firmwareVersion: null };
  readonly acks$ = new Subject<StimulusAck>();
  triggers = 0;
  async open(): Promise<SinkInfo> {
    return this.info!;
  }
  async program(output: number, _train: PulseTrainSpec): Promise<StimulusAck> {
    return { requestId: 0, kind: 'program', outputMask: 1 << output, ok: true, deviceTimeUs: null, hostWriteTimeNs: 0, hostAckTimeNs: 0, cause: null, error: null };
  }
  trigger(_mask: number, _cause: StimulusCause): number {
    return ++this.triggers;
  }
  async abort(): Promise<StimulusAck> {
    return { requestId: 0, kind: 'abort', outputMask: 3, ok: true, deviceTimeUs: null, hostWriteTimeNs: 0, hostAckTimeNs: 0, cause: null, error: null };
  }
  async close(): Promise<void> {}
}

async function governorBench(): Promise<void> {
  const clock = new TypedClock();
  const config = defaultSafetyConfig();
  const governor = new SafetyGovernor(new NullSink(), { sinkName: 'b', clock, config: { ...config, limits: { ...config.limits, maxPulsesPerMinute: 6000 } } });
  await governor.open();
  await governor.program(0, { pulseWidthMs: 1, pulseIntervalMs: 0, pulseCount: 1, delayMs: 0, level: 1 });
  const cause: StimulusCause = { reason: 'rule:bench', streamId: 's', sampleIndex: 0, sourceReceiveTimeNs: 0 };
  // One trigger every 12 ms (5 000 / min, duty 0.083): after the first minute the history holds 5 000 pulses.
  let accepted = 0;
  await measure('governor.trigger, accepted', () => `1 output, 5 000 pulses in the sliding minute, ${accepted} accepted`, 500_000, 1_000_000, () => {
    clock.advanceMs(12);
    if (governor.trigger(1, cause) > 0) accepted++;
  });
  governor.engageEstop('bench');
  await measure('governor.trigger, refused (estop)', () => 'refusal log rate-limited to 1 line/s', 500_000, 1_000_000, () => {
    clock.advanceNs(1000);
    governor.trigger(1, cause);
  });
}

async function rulesBench(): Promise<void> {
  const clock = new TypedClock();
  const config = defaultSafetyConfig();
  const governor = new SafetyGovernor(new NullSink(), { sinkName: 'leds', clock, config: { ...config, limits: { ...config.limits, maxPulsesPerMinute: 6000, maxDutyCycle: 0.5 } } });
  await governor.open();
  const r = s.validate(rulesSchema, {
    pv: { when: { kind: 'unit-spike', cellType: 'PV', minConfidence: 2 }, action: { sink: 'leds', output: 0, train: { pulseWidthMs: 1 } }, refractoryMs: 20 },
    sst: { when: { kind: 'unit-spike', cellType: 'SST', minConfidence: 2 }, action: { sink: 'leds', output: 0, train: { pulseWidthMs: 1 } }, refractoryMs: 20 },
    pkc: { when: { kind: 'population-rate', cellType: 'PkC_ss', windowMs: 20, thresholdHz: 2000 }, action: { sink: 'leds', output: 1, train: { pulseWidthMs: 2 } }, refractoryMs: 50 },
  });
  if (!r.ok) throw new Error('rules');
  const cellTypes = new CellTypeTable(512);
  const labels = ['PV', 'SST', 'PkC_ss', 'MLI'];
  for (let u = 0; u < 400; u++) cellTypes.set(u, labels[u % 4], 1 + (u % 5));
  const latency = new LatencyHistogram('rules');
  const engine = new RuleEngine({ rules: r.value, sinks: new Map([['leds', governor]]), cellTypes, clock, latency });
  await engine.programSinks();
  const batch = allocateSpikeBatch('s', 30_000, 256);
  let seed = 1;
  await measure(
    'rules.onSpikes per batch',
    () => `3 rules (2 unit-spike, 1 population-rate), 400 units, 12 spikes per 1 ms block; triggers accepted ${engine.fired.join('/')}, refused ${engine.refused.join('/')}`,
    200_000,
    1_000_000,
    (b) => {
      batch.count = 12; // 400 units at 30 Hz
      for (let k = 0; k < 12; k++) {
        seed = (seed * 16807) % 2147483647;
        batch.unitId[k] = seed % 400;
        batch.peakSampleIndex[k] = b * 30 + k * 2;
      }
      batch.sourceReceiveTimeNs = clock.nowNs();
      engine.onSpikes(batch);
      clock.advanceMs(1);
    },
  );
}

async function histogramBench(): Promise<void> {
  const h = new LatencyHistogram('bench');
  await measure('latencyHistogram.recordUs', () => '142 buckets', 1_000_000, 2_000_000, (i) => h.recordUs(50 + (i % 977)));
}

async function optotagBench(): Promise<void> {
  const clock = new TypedClock();
  const sink = new NullSink();
  const governor = new SafetyGovernor(sink, { sinkName: 'leds', clock, config: defaultSafetyConfig() });
  await governor.open();
  const world = new OptotagWorld({ seed: 5, counts: { responder: 60, none: 200, inhibited: 20, late: 10, artefact: 10 } });
  const c = defaultOptotagConfig();
  c.protocol = { ...c.protocol, sink: 'leds', pulseWidthMs: 5, intervalMs: 1000, intervalJitterMs: 300, maxPulses: 100_000 };
  c.stopping = { ...c.stopping, adaptive: true, minReliabilityGain: 0.05, falseTagRate: 1e-6, missRate: 1e-6 };
  const session = new OptotagSession({ config: c, governor, streamId: 'sim0', sampleRateHz: 30_000 });
  await session.start(0);
  // The world's spikes, generated beforehand with light every second (its cost is not the session's),
  // then replayed into one preallocated batch.
  const blocks = 40_000;
  const rows = 4 * 31;
  const counts = new Int32Array(blocks);
  const units: number[] = [];
  const samples: number[] = [];
  const channels: number[] = [];
  const waveforms: Float32Array[] = [];
  for (let b = 0; b < blocks; b++) {
    if (b % 1000 === 500) world.light(b * 30 + 36);
    const batch = world.block(b * 30, b * 30 + 30);
    counts[b] = batch.count;
    for (let k = 0; k < batch.count; k++) {
      units.push(batch.unitId[k]);
      samples.push(batch.peakSampleIndex[k]);
      channels.push(batch.peakChannel[k]);
      waveforms.push(batch.waveformsUv.slice(k * rows, (k + 1) * rows));
    }
  }
  const batch = world.batch;
  let cursor = 0;
  let pulses = 0;
  const total = units.length;
  await measure(
    'optotag session per 1 ms block (onSpikes + poll)',
    () => `300 units, ${(total / blocks).toFixed(1)} spikes/block with 4 × 31 snippets, ${pulses} pulses; the tail is pulse finalisation and budgeted SALT looks, whose statistics records are allocated`,
    blocks / 2,
    blocks / 2,
    (b) => {
      batch.count = counts[b];
      for (let k = 0; k < batch.count; k++, cursor++) {
        batch.unitId[k] = units[cursor];
        batch.peakSampleIndex[k] = samples[cursor];
        batch.peakChannel[k] = channels[cursor];
        batch.waveformsUv.set(waveforms[cursor], k * rows);
      }
      session.onSpikes(batch);
      session.poll(b * 30 + 30, 0);
      if (sink.triggers > pulses) {
        pulses = sink.triggers;
        session.onPulseDelivered(sink.triggers, b * 30 + 30 + 36);
      }
      clock.advanceMs(1);
    },
  );
}

async function bciBench(): Promise<void> {
  const world = makeBciWorld(9, 60, 100);
  const data = binData(world.unitIds, world.spikesS, world.behaviourTimesS, [world.columns.x, world.columns.y, world.columns.vx, world.columns.vy], ['x', 'y', 'vx', 'vy'], 20);
  const decoder = fitDecoder(data, { kind: 'kalman', lags: 1, ridge: 0, testFraction: 0.1, source: 'bench' });
  let sum = 0;
  const bci = new BciOutput(decoder, (out) => (sum += out.values[0]), 1);
  const batch = allocateSpikeBatch('s', 30_000, 64);
  await measure('BCI output per 1 ms block (Kalman, 4 states)', () => `100 units, 3 spikes/block, one decode per 20 blocks (checksum ${sum.toFixed(1)})`, 200_000, 2_000_000, (b) => {
    batch.count = 3;
    for (let k = 0; k < 3; k++) {
      batch.unitId[k] = 1 + ((b * 3 + k) % 100);
      batch.peakSampleIndex[k] = b * 30 + k;
    }
    bci.onSpikes(batch);
    bci.advance(b * 30 + 30, 30_000, 0);
  });
}

await governorBench();
await rulesBench();
await histogramBench();
await optotagBench();
await bciBench();
