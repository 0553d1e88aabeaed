// The loop closed in software: a controller watching the SimSource's blocks triggers the
// SimLightSink; the light reaches the simulated tissue. Expressing units' PSTHs peak at their
// configured latency; non-expressing units stay flat; the raw samples carry the evoked spikes.
// Runs in virtual time (RxJS VirtualTimeScheduler + a clock that reads it).
import { VirtualTimeScheduler } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StimulusAck } from '../../src/core/stimulus-sink.js';
import { SimLightSink } from '../../sim/sim-light-sink.js';
import { SimSource } from '../../sim/sim-source.js';

const SECONDS = 120;
const scheduler = new VirtualTimeScheduler(undefined, Infinity);
const clock = { nowNs: () => scheduler.now() * 1e6 };
const source = new SimSource({ preset: 'cortex', channels: 32, units: 24, seed: 21, opsinFraction: 1, blockFrames: 30, durationS: SECONDS, clock, scheduler, artefactUv: 0 });
const sink = new SimLightSink(source.simulation.generator, 2, clock);
const rate = 30000;
const acks: StimulusAck[] = [];
const triggerBlocks: number[] = [];
const peakTrace = new Map<number, number[]>();

test('the controller drives pulses through the sink while the source runs in virtual time', async () => {
  await sink.open();
  await sink.program(0, { pulseWidthMs: 5, pulseIntervalMs: 5, pulseCount: 1, delayMs: 2, level: 1 });
  sink.acks$.subscribe((a) => acks.push(a));
  await source.open();
  let blocks = 0;
  let nextTriggerAt = 1000 + 7; // blocks; an odd offset so pulses do not lock to anything
  let completed = false;
  source.blocks$.subscribe({
    next: (block) => {
      blocks++;
      if (block.firstSampleIndex >= nextTriggerAt * 30) {
        // The pulse must land at the start of the next block + 2 ms.
        triggerBlocks.push(block.firstSampleIndex + block.frameCount);
        sink.trigger(1, { reason: 'test', streamId: block.streamId, sampleIndex: block.firstSampleIndex, sourceReceiveTimeNs: block.hostReceiveTimeNs });
        nextTriggerAt += 300 + (blocks % 97); // every ~0.3–0.4 s
      }
    },
    complete: () => (completed = true),
  });
  await source.start();
  scheduler.flush();
  assert.ok(completed, 'the source completes after its duration');
  assert.is(blocks, SECONDS * 1000);
  assert.is(source.counters.framesDelivered, SECONDS * rate);
  // Virtual time advanced by the recording's length: blocks were paced, not burst out.
  assert.ok(Math.abs(scheduler.now() - SECONDS * 1000) <= 1, `virtual time ${scheduler.now()} ms`);
});

test('each trigger became a pulse at the next block’s first sample + the programmed delay, acknowledged with that time', () => {
  const pulses = source.simulation.generator.groundTruth.pulses;
  const triggers = acks.filter((a) => a.kind === 'trigger');
  assert.ok(pulses.length > 250, `${pulses.length} pulses`);
  assert.is(pulses.length, triggerBlocks.length);
  pulses.forEach((p, i) => {
    assert.is(p.onsetSample, triggerBlocks[i] + 60);
    assert.is(p.offsetSample - p.onsetSample, 150);
    assert.ok(triggers[i].ok);
    assert.is(triggers[i].deviceTimeUs, (p.onsetSample / rate) * 1e6);
  });
});

test('expressing units: PSTH peaks at their configured latency (± 1 ms); non-expressing units stay flat', () => {
  const gt = source.simulation.generator.groundTruth;
  const onsets = gt.pulses.map((p) => p.onsetSample);
  const units = source.simulation.units.filter((u) => !u.background);
  const expressing = units.filter((u) => u.lightResponsive);
  const others = units.filter((u) => !u.opsin);
  assert.ok(expressing.length >= 3 && others.length >= 10, `${expressing.length} expressing, ${others.length} not`);
  const binMs = 0.5;
  for (const u of expressing) {
    const spikes = gt.spikesOf(u.id);
    const psth = new Float64Array(40); // 0…20 ms
    let j = 0;
    for (const t of onsets) {
      while (j < spikes.length && spikes[j] < t) j++;
      for (let k = j; k < spikes.length && spikes[k] < t + 20 * 30; k++) psth[Math.floor((spikes[k] - t) / (binMs * 30))]++;
    }
    let peak = 0;
    for (let b = 1; b < psth.length; b++) if (psth[b] > psth[peak]) peak = b;
    const peakMs = (peak + 0.5) * binMs;
    console.log(`  unit ${u.id} ${u.type}: configured latency ${u.light.latencyMs.toFixed(2)} ms (jitter ${u.light.jitterMs.toFixed(2)}), PSTH peak ${peakMs.toFixed(2)} ms, ${psth[peak]} spikes in the peak bin of ${onsets.length} pulses`);
    assert.ok(Math.abs(peakMs - u.light.latencyMs) <= 1 + u.light.jitterMs, `unit ${u.id}`);
    assert.ok(psth[peak] >= 0.1 * onsets.length, `unit ${u.id} answers`);
  }
  for (const u of others) {
    const spikes = gt.spikesOf(u.id);
    // Spikes in the 20 ms after onsets vs the 20 ms windows 200 ms before them: equal rates
    // within a Poisson 4-SD band.
    let after = 0;
    let before = 0;
    for (const t of onsets) {
      for (const s of spikes) {
        if (s >= t && s < t + 600) after++;
        if (s >= t - 6000 && s < t - 5400) before++;
      }
    }
    const sd = Math.sqrt(after + before + 1);
    assert.ok(Math.abs(after - before) <= 4 * sd, `unit ${u.id} ${u.type}: ${after} after vs ${before} before`);
  }
});

test('a trigger before open, on an unprogrammed output, or to no output is refused with E_SINK_STATE', async () => {
  const generator = source.simulation.generator;
  const fresh = new SimLightSink(generator, 2, clock);
  const seen: StimulusAck[] = [];
  fresh.acks$.subscribe((a) => seen.push(a));
  fresh.trigger(1, { reason: 'x', streamId: null, sampleIndex: null, sourceReceiveTimeNs: null });
  await fresh.open();
  fresh.trigger(2, { reason: 'x', streamId: null, sampleIndex: null, sourceReceiveTimeNs: null });
  fresh.trigger(0, { reason: 'x', streamId: null, sampleIndex: null, sourceReceiveTimeNs: null });
  assert.is(seen.length, 3);
  for (const a of seen) {
    assert.is(a.ok, false);
    assert.is(a.error?.code, 'E_SINK_STATE');
  }
  await assert_rejects(() => fresh.program(0, { pulseWidthMs: 0, pulseIntervalMs: 0, pulseCount: 1, delayMs: 0, level: 1 }), 'E_OPTIONS_INVALID');
  await assert_rejects(() => fresh.program(5, { pulseWidthMs: 1, pulseIntervalMs: 0, pulseCount: 1, delayMs: 0, level: 1 }), 'E_OPTIONS_INVALID');
  await fresh.close();
});

async function assert_rejects(fn: () => Promise<unknown>, code: string): Promise<void> {
  try {
    await fn();
  } catch (error) {
    assert.is((error as { code?: string }).code, code);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

test.run();
