import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SafetyGovernor, type StimRefusal } from '../../src/closedloop/safety-governor.js';
import { ABSOLUTE_LIMITS, defaultSafetyConfig, type SafetyConfig } from '../../src/closedloop/safety-options.js';
import { ManualClock } from '../../src/core/clock.js';
import type { DaemonCommand } from '../../src/core/commands.js';
import { isOptoloopError } from '../../src/core/errors.js';
import type { PulseTrainSpec, StimulusCause } from '../../src/core/stimulus-sink.js';
import { FakeLightSink, maxOnTimeInAnyWindowNs, maxOnsetsInAnyWindow } from '../helpers/fake-light-sink.js';
import { seededRandom } from '../helpers/seeded.js';

const MS = 1e6;
const cause = (reason: string): StimulusCause => ({ reason, streamId: 's', sampleIndex: 0, sourceReceiveTimeNs: 0 });
const train = (over: Partial<PulseTrainSpec> = {}): PulseTrainSpec => ({ pulseWidthMs: 5, pulseIntervalMs: 0, pulseCount: 1, delayMs: 0, level: 1, ...over });

async function setup(limits: Partial<SafetyConfig['limits']> = {}, outputs: SafetyConfig['outputs'] = {}, outputCount = 2) {
  const clock = new ManualClock(1e12);
  const sink = new FakeLightSink(clock, outputCount);
  const log: StimRefusal[] = [];
  const config = defaultSafetyConfig();
  const governor = new SafetyGovernor(sink, {
    sinkName: 'led',
    clock,
    config: { ...config, limits: { ...config.limits, ...limits }, outputs },
    log: (r) => log.push(r),
  });
  await governor.open();
  return { clock, sink, governor, log };
}

async function rejects(p: Promise<unknown>, code: string, limit: string): Promise<void> {
  try {
    await p;
    assert.unreachable(`expected ${code} (${limit})`);
  } catch (error) {
    assert.ok(isOptoloopError(error), String(error));
    assert.is((error as { code: string }).code, code);
    assert.is((error as unknown as { details: { limit: string } }).details.limit, limit, (error as Error).message);
  }
}

test('a config can never raise a limit above the absolute maxima', () => {
  const base = defaultSafetyConfig();
  const tooHigh: [string, Record<string, number>][] = [
    ['maxPulseWidthMs', { maxPulseWidthMs: ABSOLUTE_LIMITS.maxPulseWidthMs + 1 }],
    ['maxDutyCycle', { maxDutyCycle: 0.51 }],
    ['dutyWindowS', { dutyWindowS: 61 }],
    ['maxPulsesPerMinute', { maxPulsesPerMinute: 6001 }],
    ['maxLevel', { maxLevel: 1.01 }],
    ['maxDelayMs', { maxDelayMs: 60_001 }],
  ];
  for (const [field, over] of tooHigh) {
    for (const config of [{ ...base, limits: { ...base.limits, ...over } }, { ...base, outputs: { 'led:0': over } }]) {
      try {
        SafetyGovernor.checkConfig(config);
        assert.unreachable(field);
      } catch (error) {
        assert.ok(isOptoloopError(error, 'E_CONFIG_INVALID'), field);
        assert.match((error as Error).message, field);
      }
    }
  }
  try {
    SafetyGovernor.checkConfig({ ...base, outputs: { led0: {} } });
    assert.unreachable();
  } catch (error) {
    assert.match((error as Error).message, 'expected a key "<sink>:<output>"');
  }
});

test('program(): every limit refuses a train that exceeds it, naming the limit', async () => {
  const { governor, sink, log } = await setup({ maxPulseWidthMs: 20, maxLevel: 0.5, maxDelayMs: 100, maxDutyCycle: 0.2, dutyWindowS: 1, maxPulsesPerMinute: 100 });
  const t = (over: Partial<PulseTrainSpec>) => train({ level: 0.5, ...over });
  await rejects(governor.program(0, t({ pulseWidthMs: 21 })), 'E_STIM_LIMIT', 'pulse-width');
  await rejects(governor.program(0, t({ level: 0.6 })), 'E_STIM_LIMIT', 'level');
  await rejects(governor.program(0, t({ delayMs: 101 })), 'E_STIM_LIMIT', 'delay');
  await rejects(governor.program(0, t({ pulseWidthMs: NaN })), 'E_STIM_LIMIT', 'train-shape');
  await rejects(governor.program(0, t({ level: -0.1 })), 'E_STIM_LIMIT', 'level');
  await rejects(governor.program(0, t({ pulseCount: 2.5 })), 'E_STIM_LIMIT', 'train-shape');
  await rejects(governor.program(0, t({ pulseCount: 3, pulseIntervalMs: 4 })), 'E_STIM_LIMIT', 'train-shape');
  await rejects(governor.program(2, t({})), 'E_STIM_LIMIT', 'output');
  // 20 ms every 50 ms = 0.4 duty over 1 s > 0.2.
  await rejects(governor.program(0, t({ pulseWidthMs: 20, pulseIntervalMs: 50, pulseCount: 40 })), 'E_STIM_LIMIT', 'duty-cycle');
  // 150 pulses 100 ms apart: 150 onsets in a minute > 100.
  await rejects(governor.program(0, t({ pulseWidthMs: 1, pulseIntervalMs: 100, pulseCount: 150 })), 'E_STIM_LIMIT', 'pulses-per-minute');
  assert.equal(sink.trains, [null, null], 'nothing refused reached the device');
  assert.is(log.length, 10);
  assert.ok(log.every((l) => l.code === 'E_STIM_LIMIT' && l.origin === 'config'));
  assert.match(log[0].message, 'led output 0: refused (from config): pulse width 21 ms exceeds the limit of 20 ms');
  await governor.program(0, t({ pulseWidthMs: 20, pulseIntervalMs: 100, pulseCount: 10, level: 0.5 }));
  assert.is(sink.trains[0]!.pulseWidthMs, 20);
});

test('per-output overrides apply to their output only', async () => {
  const { governor } = await setup({ maxPulseWidthMs: 50 }, { 'led:1': { maxPulseWidthMs: 10, maxDutyCycle: null, dutyWindowS: null, maxPulsesPerMinute: null, maxLevel: null, maxDelayMs: null } });
  await governor.program(0, train({ pulseWidthMs: 40 }));
  await rejects(governor.program(1, train({ pulseWidthMs: 40 })), 'E_STIM_LIMIT', 'pulse-width');
  assert.is(governor.limitsOf(1).maxPulseWidthMs, 10);
});

test('trigger(): duty cycle accumulates over the sliding window, worked by hand', async () => {
  const { governor, clock } = await setup({ maxPulseWidthMs: 200, maxDutyCycle: 0.25, dutyWindowS: 1 });
  await governor.program(0, train({ pulseWidthMs: 100 }));
  // 100 ms pulses at 0, 200 and 400 ms: the third would make 300 ms of light in 1 s > 250 ms.
  assert.ok(governor.trigger(1, cause('rule:a')) > 0);
  clock.advanceMs(200);
  assert.ok(governor.trigger(1, cause('rule:a')) > 0);
  clock.advanceMs(200);
  assert.is(governor.trigger(1, cause('rule:a')), -1);
  assert.is(governor.lastRefusal.limit, 'duty-cycle');
  assert.ok(Math.abs(governor.lastRefusal.value - 0.3) < 1e-9);
  // At 1 100 ms the window (100 ms … 1 100 ms) holds only the second pulse: 100 + 100 ≤ 250.
  clock.advanceMs(700);
  assert.ok(governor.trigger(1, cause('rule:a')) > 0);
});

test('the absolute duty cycle (0.5 over 60 s) holds even where the configured window allows more', async () => {
  const { governor, clock } = await setup({ maxPulseWidthMs: 10_000, maxDutyCycle: 0.5, dutyWindowS: 40 });
  await governor.program(0, train({ pulseWidthMs: 10_000 }));
  // 10 s pulses at 0, 10 and 40 s: every 40 s window holds ≤ 20 s, every 60 s window ≤ 30 s.
  for (const atS of [0, 10, 40]) {
    clock.setNs(1e12 + atS * 1e9);
    assert.ok(governor.trigger(1, cause('manual')) > 0, `pulse at ${atS} s`);
  }
  // At 50 s: the 40 s window 20…60 s would hold 20 s (allowed), but 0…60 s would hold 40 s.
  clock.setNs(1e12 + 50e9);
  assert.is(governor.trigger(1, cause('manual')), -1);
  assert.is(governor.lastRefusal.limit, 'absolute-duty-cycle');
});

test('trigger(): pulses per minute over a sliding minute, and busy while a train runs', async () => {
  const { governor, clock } = await setup({ maxPulsesPerMinute: 10 });
  await governor.program(0, train({ pulseWidthMs: 1 }));
  for (let k = 0; k < 10; k++) {
    assert.ok(governor.trigger(1, cause('bus:client')) > 0, `pulse ${k}`);
    clock.advanceMs(1000);
  }
  // t = 10 s: 10 onsets in the last minute.
  assert.is(governor.trigger(1, cause('bus:client')), -1);
  assert.is(governor.lastRefusal.limit, 'pulses-per-minute');
  clock.setNs(1e12 + 60_500 * MS);
  assert.ok(governor.trigger(1, cause('bus:client')) > 0, 'the first pulse has left the minute');
  await governor.program(1, train({ pulseWidthMs: 10, pulseIntervalMs: 100, pulseCount: 5 }));
  assert.ok(governor.trigger(2, cause('manual')) > 0);
  clock.advanceMs(300);
  assert.is(governor.trigger(2, cause('manual')), -1);
  assert.is(governor.lastRefusal.limit, 'busy');
  clock.advanceMs(111);
  assert.ok(governor.trigger(2, cause('manual')) > 0, 'free once the train ended at 410 ms');
});

test('trigger(): all or nothing across the mask; unprogrammed outputs and bad masks refused', async () => {
  const { governor, sink } = await setup();
  assert.is(governor.trigger(1, cause('rule:a')), -1);
  assert.is(governor.lastRefusal.limit, 'not-programmed');
  await governor.program(0, train());
  assert.is(governor.trigger(3, cause('rule:a')), -1, 'output 1 is not programmed: output 0 must not fire either');
  assert.is(governor.trigger(4, cause('rule:a')), -1);
  assert.is(governor.lastRefusal.limit, 'output');
  assert.is(governor.trigger(0, cause('rule:a')), -1);
  assert.is(governor.trigger(-1, cause('rule:a')), -1);
  assert.is(sink.triggers.length, 0);
});

// ── property test: seeded random commands from every origin ────────────────────────────────────

function randomTrain(rand: () => number): PulseTrainSpec {
  const nasty = rand();
  if (nasty < 0.05) return { pulseWidthMs: NaN, pulseIntervalMs: 1, pulseCount: 1, delayMs: 0, level: 1 };
  if (nasty < 0.1) return { pulseWidthMs: -5, pulseIntervalMs: 1, pulseCount: 1, delayMs: 0, level: 1 };
  if (nasty < 0.15) return { pulseWidthMs: 1e9, pulseIntervalMs: 1e9, pulseCount: 1e6, delayMs: 0, level: 10 };
  const width = [1, 2, 5, 10, 20, 50, 100, 300, 1000, 5000, 20000][Math.floor(rand() * 11)];
  const count = rand() < 0.6 ? 1 : 1 + Math.floor(rand() * 200);
  return {
    pulseWidthMs: width * (0.5 + rand()),
    pulseIntervalMs: width * (1 + rand() * 10),
    pulseCount: count,
    delayMs: rand() < 0.8 ? 0 : rand() * 2000,
    level: rand() * 1.3,
  };
}

test('property: no rule, bus command, config or optotag request gets light past a limit (seeded)', async () => {
  const limitSets: Partial<SafetyConfig['limits']>[] = [
    { maxPulseWidthMs: 50, maxDutyCycle: 0.1, dutyWindowS: 1, maxPulsesPerMinute: 600, maxLevel: 0.8 },
    { maxPulseWidthMs: 1000, maxDutyCycle: 0.25, dutyWindowS: 10, maxPulsesPerMinute: 2400, maxLevel: 1 },
    // A long duty window: 0.5 over 40 s alone would let 40 s of light into a minute; the absolute
    // 0.5 over 60 s must hold it back.
    { maxPulseWidthMs: 10_000, maxDutyCycle: 0.5, dutyWindowS: 40, maxPulsesPerMinute: 6000, maxLevel: 1, maxDelayMs: 60_000 },
    // The most a config may allow: then only the absolute maxima hold the light back.
    {
      maxPulseWidthMs: ABSOLUTE_LIMITS.maxPulseWidthMs,
      maxDutyCycle: ABSOLUTE_LIMITS.maxDutyCycle,
      dutyWindowS: 0.1,
      maxPulsesPerMinute: ABSOLUTE_LIMITS.maxPulsesPerMinute,
      maxLevel: 1,
      maxDelayMs: ABSOLUTE_LIMITS.maxDelayMs,
    },
  ];
  const origins = ['rule:pv-burst', 'bus:dashboard', 'config', 'optotag', 'manual'];
  for (let seed = 1; seed <= 8; seed++) {
    const limits = limitSets[seed % limitSets.length];
    const rand = seededRandom(seed);
    const { governor, sink, clock } = await setup(limits);
    const full = governor.limitsOf(0);
    let accepted = 0;
    let refused = 0;
    const end = 1e12 + 600e9; // ten minutes
    while (clock.nowNs() < end) {
      clock.advanceNs(rand() < 0.7 ? rand() * 20 * MS : rand() * 3000 * MS);
      const origin = origins[Math.floor(rand() * origins.length)];
      const r = rand();
      if (r < 0.08) {
        // A bus "stimulate" command, handled as the daemon does: program, then trigger.
        const command: DaemonCommand = { kind: 'stimulate', sink: 'led', output: Math.floor(rand() * 3), train: randomTrain(rand) };
        if (command.kind !== 'stimulate') continue;
        try {
          await governor.program(command.output, command.train, origin);
        } catch {
          refused++;
          continue;
        }
        if (governor.trigger(1 << command.output, cause(origin)) > 0) accepted++;
        else refused++;
      } else if (r < 0.15) {
        try {
          await governor.program(Math.floor(rand() * 2), randomTrain(rand), origin);
        } catch {
          refused++;
        }
      } else {
        // Rules and optotag fire whatever is programmed, as fast as their input asks.
        const mask = rand() < 0.1 ? Math.floor(rand() * 8) : 1 << Math.floor(rand() * 2);
        if (governor.trigger(mask, cause(origin)) > 0) accepted++;
        else refused++;
      }
    }
    assert.ok(accepted > 50 && refused > 50, `seed ${seed}: ${accepted} accepted, ${refused} refused — the test must exercise both`);
    for (let o = 0; o < 2; o++) {
      const pulses = sink.pulsesOf(o);
      for (const p of pulses) {
        assert.ok(p.endNs - p.startNs <= full.maxPulseWidthMs * MS + 1, `seed ${seed} output ${o}: a ${(p.endNs - p.startNs) / MS} ms pulse`);
        assert.ok(p.level <= full.maxLevel, `seed ${seed}: level ${p.level}`);
      }
      const windowNs = full.dutyWindowS * 1e9;
      const on = maxOnTimeInAnyWindowNs(pulses, windowNs);
      assert.ok(on <= full.maxDutyCycle * windowNs + 1, `seed ${seed} output ${o}: duty ${on / windowNs} > ${full.maxDutyCycle}`);
      const onAbs = maxOnTimeInAnyWindowNs(pulses, 60e9);
      assert.ok(onAbs <= 0.5 * 60e9 + 1, `seed ${seed} output ${o}: absolute duty ${onAbs / 60e9}`);
      const onsets = maxOnsetsInAnyWindow(pulses, 60e9);
      assert.ok(onsets <= full.maxPulsesPerMinute, `seed ${seed} output ${o}: ${onsets} pulses in a minute`);
      // No two pulses of one output overlap.
      for (let k = 1; k < pulses.length; k++) assert.ok(pulses[k].startNs >= pulses[k - 1].endNs, `seed ${seed}: overlapping pulses`);
    }
  }
});

// ── emergency stop within one block ────────────────────────────────────────────────────────────

test('estop halts every output within the block it is engaged in, and refuses everything until released', async () => {
  const { governor, sink, clock, log } = await setup({ maxPulseWidthMs: 1000, maxDutyCycle: 0.5, dutyWindowS: 10 });
  const blockNs = 1 * MS; // a 1 ms block: the pipeline's unit of work
  await governor.program(0, train({ pulseWidthMs: 500 }));
  await governor.program(1, train({ pulseWidthMs: 2, pulseIntervalMs: 25, pulseCount: 400 }));
  const rand = seededRandom(7);
  let estopNs = NaN;
  let acceptedAfter = 0;
  for (let block = 0; block < 3000; block++) {
    // Within a block: several rule evaluations may trigger; the estop arrives between two of them.
    for (let step = 0; step < 4; step++) {
      if (block === 1200 && step === 2) {
        estopNs = clock.nowNs();
        governor.engageEstop('bus:panel');
        // The abort reached the device synchronously, before anything else ran.
        assert.is(sink.aborts, 1);
        assert.not.ok(sink.lightOnAt(estopNs), 'light off at the moment of the estop');
      }
      if (rand() < 0.3) {
        const id = governor.trigger(1 << Math.floor(rand() * 2), cause('rule:r1'));
        if (!Number.isNaN(estopNs) && id > 0) acceptedAfter++;
      }
    }
    clock.advanceNs(blockNs);
  }
  assert.ok(sink.pulses.length > 0);
  assert.is(acceptedAfter, 0);
  // Light before the estop that would have run past it (a 500 ms pulse, the 10 s train) was cut.
  for (const p of sink.pulses) assert.ok(p.endNs <= estopNs, `a pulse ends ${(p.endNs - estopNs) / MS} ms after the estop`);
  assert.ok(sink.pulses.some((p) => p.output === 1 && p.endNs === estopNs) || sink.pulses.some((p) => p.output === 0 && p.endNs === estopNs), 'something was lit at the estop and cut');
  assert.ok(log.some((l) => l.code === 'E_STIM_ESTOP' && l.message.includes('engaged by bus:panel')));
  const refusedLines = log.filter((l) => l.code === 'E_STIM_ESTOP' && l.limit === 'estop' && l.origin === 'rule:r1');
  assert.ok(refusedLines.length >= 1 && refusedLines.length <= 3, `${refusedLines.length} lines for ~1 800 ms of refusals: one per second`);
  await rejects(governor.program(0, train()), 'E_STIM_ESTOP', 'estop');
  governor.releaseEstop('manual');
  assert.is(governor.trigger(1, cause('rule:r1')), -1, 'after release, outputs need programming again');
  assert.is(governor.lastRefusal.limit, 'not-programmed');
  await governor.program(0, train());
  assert.ok(governor.trigger(1, cause('rule:r1')) > 0);
});

test('refused triggers are logged once per output, limit and interval; the rest are counted and flushed', async () => {
  const { governor, clock, log } = await setup();
  for (let k = 0; k < 1000; k++) {
    governor.trigger(1, cause('rule:noisy'));
    clock.advanceNs(0.5 * MS);
  }
  // 500 ms of refusals at 2 per ms: one line at the first, the other 999 folded.
  const lines = log.filter((l) => l.limit === 'not-programmed');
  assert.is(lines.length, 1);
  assert.is(lines[0].suppressed, 0);
  governor.flushRefusalLog();
  const flushed = log.filter((l) => l.limit === 'not-programmed');
  assert.is(flushed.length, 2);
  assert.is(flushed[1].suppressed, 999);
  assert.match(flushed[1].message, '999 more command(s) refused by the not-programmed limit');
  assert.is(governor.refusalCounts[10], 1000);
});

test('abort(): pulses already started stay booked; the output is free once the cut pulse would have ended', async () => {
  const { governor, clock, sink } = await setup({ maxPulseWidthMs: 100, maxDutyCycle: 0.5, dutyWindowS: 1 });
  await governor.program(0, train({ pulseWidthMs: 100, pulseIntervalMs: 200, pulseCount: 5 }));
  const t0 = clock.nowNs();
  assert.ok(governor.trigger(1, cause('manual')) > 0);
  clock.advanceMs(250); // second pulse (200…300 ms) under way
  await governor.abort();
  assert.is(sink.pulsesOf(0).length, 2);
  const booked = governor.bookedSince(0, t0);
  assert.is(booked.pulses, 2);
  assert.is(booked.onTimeMs, 200, 'the cut pulse is booked whole');
  assert.is(governor.trigger(1, cause('manual')), -1);
  assert.is(governor.lastRefusal.limit, 'busy');
});

test.run();
