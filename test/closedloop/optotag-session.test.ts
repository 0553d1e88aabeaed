import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readLibrary } from '../../src/classify/library.js';
import { defaultOptotagConfig, type OptotagConfig } from '../../src/closedloop/optotag-config.js';
import { appendTaggedUnits } from '../../src/closedloop/optotag-library.js';
import { OptotagSession, type OptotagResult } from '../../src/closedloop/optotag-session.js';
import { SafetyGovernor } from '../../src/closedloop/safety-governor.js';
import { defaultSafetyConfig } from '../../src/closedloop/safety-options.js';
import { ManualClock } from '../../src/core/clock.js';
import { FakeLightSink } from '../helpers/fake-light-sink.js';
import { OptotagWorld, type SynthKind } from '../helpers/optotag-world.js';
import { artifactDir } from '../helpers/paths.js';

const FS = 30_000;
const BLOCK = 30; // 1 ms blocks
const DEVICE_DELAY_SAMPLES = 36; // light 1.2 ms after the trigger
const ACK_DELAY_BLOCKS = 3; // the acknowledgement (with the onset sample) 3 ms after the trigger

interface Run {
  result: OptotagResult;
  world: OptotagWorld;
  session: OptotagSession;
  sink: FakeLightSink;
}

function config(over: (c: OptotagConfig) => void): OptotagConfig {
  const c = defaultOptotagConfig();
  c.label = 'PV';
  c.protocol = { ...c.protocol, sink: 'leds', output: 0, pulseWidthMs: 5, intervalMs: 1000, intervalJitterMs: 300, minPulses: 20, maxPulses: 200, seed: 7 };
  over(c);
  return c;
}

async function runSession(cfg: OptotagConfig, counts: Record<SynthKind, number>, worldSeed: number): Promise<Run> {
  const clock = new ManualClock(1e9);
  const sink = new FakeLightSink(clock, 1);
  const safety = defaultSafetyConfig();
  const governor = new SafetyGovernor(sink, { sinkName: 'leds', clock, config: safety });
  await governor.open();
  const world = new OptotagWorld({ seed: worldSeed, counts, sampleRateHz: FS });
  const session = new OptotagSession({ config: cfg, governor, streamId: 'sim0', sampleRateHz: FS });
  await session.start(0);
  const acks: [number, number, number][] = []; // [due block, request id, onset sample]
  let seenTriggers = 0;
  for (let block = 0; session.state === 'running' && block < 2_000_000; block++) {
    const from = block * BLOCK;
    session.onSpikes(world.block(from, from + BLOCK));
    session.poll(from + BLOCK, clock.nowNs());
    while (seenTriggers < sink.triggers.length) {
      const t = sink.triggers[seenTriggers++];
      const onset = t.cause.sampleIndex! + DEVICE_DELAY_SAMPLES;
      world.light(onset);
      acks.push([block + ACK_DELAY_BLOCKS, t.requestId, onset]);
    }
    while (acks.length && acks[0][0] <= block) {
      const [, id, onset] = acks.shift()!;
      session.onPulseDelivered(id, onset);
    }
    clock.advanceMs(1);
    // Let the governor's program() promises settle (they resolve on the microtask queue).
    if (block % 100 === 0) await Promise.resolve();
  }
  return { result: session.result(), world, session, sink };
}

function score(run: Run): { recall: number; falsePositiveRate: number; responders: number; others: number; taggedOthers: string[] } {
  const byId = new Map(run.result.units.map((u) => [u.unitId, u]));
  const responders = run.world.units.filter((u) => u.kind === 'responder');
  const others = run.world.units.filter((u) => u.kind !== 'responder');
  const found = responders.filter((u) => byId.get(u.id)?.tagged).length;
  const wrong = others.filter((u) => byId.get(u.id)?.tagged);
  return {
    recall: found / responders.length,
    falsePositiveRate: wrong.length / others.length,
    responders: responders.length,
    others: others.length,
    taggedOthers: wrong.map((u) => `${u.id}:${u.kind}`),
  };
}

const COUNTS: Record<SynthKind, number> = { responder: 40, none: 110, inhibited: 20, late: 15, artefact: 15 };

test('adaptive stop vs the fixed protocol on seeded populations with known responders', async () => {
  let fixedPulses = 0;
  let adaptivePulses = 0;
  for (const seed of [11, 200, 300]) {
    const fixed = await runSession(config((c) => (c.stopping = { ...c.stopping, adaptive: false })), COUNTS, seed);
    const adaptive = await runSession(config((c) => (c.protocol = { ...c.protocol, seed })), COUNTS, seed);
    const f = score(fixed);
    const a = score(adaptive);
    fixedPulses += fixed.result.pulsesDelivered;
    adaptivePulses += adaptive.result.pulsesDelivered;
    console.log(
      `seed ${seed} fixed protocol: ${fixed.result.pulsesDelivered} pulses, recall ${(100 * f.recall).toFixed(1)} % of ${f.responders}, false positives ${(100 * f.falsePositiveRate).toFixed(1)} % of ${f.others} ${f.taggedOthers.join(' ')}`,
    );
    console.log(
      `seed ${seed} adaptive stop:  ${adaptive.result.pulsesDelivered} pulses, recall ${(100 * a.recall).toFixed(1)} % of ${a.responders}, false positives ${(100 * a.falsePositiveRate).toFixed(1)} % of ${a.others} ${a.taggedOthers.join(' ')} (${adaptive.result.reason})`,
    );
    assert.is(fixed.result.state, 'finished');
    assert.is(fixed.result.pulsesDelivered, 200);
    assert.ok(f.recall >= 0.95, `fixed recall ${f.recall}`);
    assert.ok(f.falsePositiveRate <= 0.02, `fixed false positives ${f.falsePositiveRate}: ${f.taggedOthers}`);
    assert.is(adaptive.result.state, 'finished');
    assert.ok(adaptive.result.stoppedEarly);
    assert.ok(adaptive.result.pulsesDelivered < fixed.result.pulsesDelivered);
    assert.ok(a.recall >= 0.95, `adaptive recall ${a.recall}`);
    assert.ok(a.falsePositiveRate <= 0.02, `adaptive false positives ${a.falsePositiveRate}: ${a.taggedOthers}`);
    // Every unit was decided, and each decision says how.
    assert.ok(adaptive.result.units.every((u) => u.decided && u.decidedBy !== null));
    // Light artefacts answer the light reliably but with a foreign waveform: rejected by R.
    const artefacts = adaptive.world.units.filter((u) => u.kind === 'artefact').map((u) => adaptive.result.units.find((r) => r.unitId === u.id)!);
    for (const u of artefacts) {
      assert.not.ok(u.tagged);
      if (u.decidedBy === 'sequential-and-criteria') assert.ok(u.failed.includes('waveform'), `artefact unit ${u.unitId}: ${u.failed}`);
    }
    // Tagged responders' statistics match what the world put in.
    for (const w of adaptive.world.units.filter((u) => u.kind === 'responder')) {
      const r = adaptive.result.units.find((u) => u.unitId === w.id)!;
      if (!r.tagged) continue;
      assert.ok(r.waveformCorrelation! > 0.9, `unit ${w.id}: R ${r.waveformCorrelation}`);
      assert.ok(Math.abs(r.stats.firstSpikeLatencyMs! - (w.latencyMs + 1.2)) < 2.5, `unit ${w.id}: latency ${r.stats.firstSpikeLatencyMs} vs ${w.latencyMs} + 1.2`);
    }
  }
  console.log(`pulses over three sessions: fixed ${fixedPulses}, adaptive ${adaptivePulses}`);
});

test('tagged units go to the library with their waveforms and spike trains; tag summaries for the bus', async () => {
  const path = join(artifactDir('optotag-session'), 'library.json');
  rmSync(path, { force: true });
  const run = await runSession(config((c) => (c.library = path)), { responder: 4, none: 4, inhibited: 0, late: 0, artefact: 0 }, 3);
  const { written, skipped } = appendTaggedUnits(run.session, { idPrefix: 'test/', channelPositionUm: (c) => [0, 20 * c] });
  assert.equal(skipped, []);
  const tagged = run.result.units.filter((u) => u.tagged);
  assert.ok(tagged.length >= 3);
  assert.is(written, tagged.length);
  const lib = readLibrary(path);
  assert.is(lib.units.length, tagged.length);
  for (const u of lib.units) {
    assert.is(u.label, 'PV');
    assert.is(u.source, 'optotag');
    assert.is(u.waveformSampleRateHz, FS);
    assert.is(u.waveformUv.length, 31);
    assert.is(u.waveformsUv!.length, 4);
    assert.is(u.channelPositionsUm!.length, 4);
    assert.ok(u.id.startsWith('test/u'));
    assert.ok(u.spikeTimesS.length > 10);
    assert.ok(u.tag!.saltP! < 0.01);
    // The mean waveform's trough sits at the peak index.
    const trough = u.waveformUv.indexOf(Math.min(...u.waveformUv));
    assert.ok(Math.abs(trough - u.waveformPeakIndex!) <= 1, `trough at ${trough}`);
  }
  const summary = run.session.tagSummary(tagged[0].unitId)!;
  assert.is(summary.state, 'tagged');
  assert.ok(summary.pulses >= 20);
  // The PSTH the dashboard draws: the analysis' bins, light-evoked spikes after onset, its peak the latency.
  const a = run.session.config.analysis;
  const psth = summary.psth!;
  assert.ok(psth, 'a PSTH in the tag summary');
  assert.is(psth.binMs, a.psthBinMs);
  assert.is(psth.startMs, a.psthStartMs);
  assert.is(psth.counts.length, Math.round((a.psthEndMs - a.psthStartMs) / a.psthBinMs));
  const onsetBin = Math.round(-a.psthStartMs / a.psthBinMs);
  const perBin = (from: number, to: number) => psth.counts.slice(from, to).reduce((n, c) => n + c, 0) / (to - from);
  assert.ok(perBin(onsetBin, psth.counts.length) > 3 * perBin(0, onsetBin), `evoked ${perBin(onsetBin, psth.counts.length)} vs baseline ${perBin(0, onsetBin)} spikes per bin`);
  const peak = psth.counts.indexOf(Math.max(...psth.counts));
  assert.is(psth.startMs + (peak + 0.5) * psth.binMs, summary.latencyMs);
  assert.is(run.session.tagSummary(99_999), null);
});

test('the emergency stop aborts the session; the schedule is seeded and jittered', async () => {
  const clock = new ManualClock(1e9);
  const sink = new FakeLightSink(clock, 1);
  const governor = new SafetyGovernor(sink, { sinkName: 'leds', clock, config: defaultSafetyConfig() });
  await governor.open();
  const cfg = config(() => {});
  const session = new OptotagSession({ config: cfg, governor, streamId: 'sim0', sampleRateHz: FS });
  const other = new OptotagSession({ config: cfg, governor: new SafetyGovernor(new FakeLightSink(clock, 1), { sinkName: 'leds', clock, config: defaultSafetyConfig() }), streamId: 'sim0', sampleRateHz: FS });
  await session.start(0);
  const triggerSamples: number[] = [];
  for (let block = 0; block < 5000; block++) {
    session.poll((block + 1) * BLOCK, 0);
    if (sink.triggers.length > triggerSamples.length) {
      const t = sink.triggers[sink.triggers.length - 1];
      triggerSamples.push(t.cause.sampleIndex!);
      session.onPulseDelivered(t.requestId, t.cause.sampleIndex! + 30);
    }
    clock.advanceMs(1);
  }
  const intervals = triggerSamples.slice(1).map((t, i) => (t - triggerSamples[i]) / 30);
  assert.ok(intervals.length >= 3);
  assert.ok(intervals.every((ms) => ms >= 700 && ms <= 1301), `intervals ${intervals}`);
  assert.ok(new Set(intervals.map((x) => Math.round(x))).size > 1, 'jittered');
  void other;
  governor.engageEstop('test');
  for (let block = 5000; block < 8000; block++) session.poll((block + 1) * BLOCK, 0);
  assert.is(session.state, 'aborted');
  assert.match(session.result().reason, 'emergency stop');
});

test.run();
