import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LatencyHistogram } from '../../../src/closedloop/latency-histogram.js';
import { CellTypeTable } from '../../../src/closedloop/rules/cell-type-table.js';
import { RuleEngine } from '../../../src/closedloop/rules/rule-engine.js';
import { rulesSchema, type RulesConfig } from '../../../src/closedloop/rules/rule-options.js';
import { SafetyGovernor } from '../../../src/closedloop/safety-governor.js';
import { defaultSafetyConfig } from '../../../src/closedloop/safety-options.js';
import * as s from '../../../src/config/schema.js';
import { ManualClock } from '../../../src/core/clock.js';
import { isOptoloopError } from '../../../src/core/errors.js';
import { allocateSpikeBatch, type SpikeBatch } from '../../../src/core/spikes.js';
import { FakeLightSink } from '../../helpers/fake-light-sink.js';

const FS = 30_000;

function parseRules(raw: unknown): RulesConfig {
  const r = s.validate(rulesSchema, raw);
  if (!r.ok) throw new Error(r.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  return r.value;
}

async function setup(raw: unknown) {
  const clock = new ManualClock(5e9);
  const sink = new FakeLightSink(clock, 2);
  const config = defaultSafetyConfig();
  const governor = new SafetyGovernor(sink, { sinkName: 'leds', clock, config: { ...config, limits: { ...config.limits, maxPulsesPerMinute: 6000, maxDutyCycle: 0.5 } } });
  await governor.open();
  const cellTypes = new CellTypeTable(4);
  const latency = new LatencyHistogram('rule-decision');
  const engine = new RuleEngine({ rules: parseRules(raw), sinks: new Map([['leds', governor]]), cellTypes, clock, latency });
  await engine.programSinks();
  const batch = allocateSpikeBatch('probe0', FS, 64);
  return { clock, sink, governor, cellTypes, engine, batch, latency };
}

/** Fills the batch with (unit, sampleIndex) spikes. */
function fill(batch: SpikeBatch, spikes: [number, number][], receiveNs: number): SpikeBatch {
  batch.count = spikes.length;
  spikes.forEach(([unit, t], k) => {
    batch.unitId[k] = unit;
    batch.peakSampleIndex[k] = t;
  });
  batch.sourceReceiveTimeNs = receiveNs;
  return batch;
}

const pvRule = {
  'pv-spike': {
    when: { kind: 'unit-spike', cellType: 'PV', minConfidence: 2 },
    action: { sink: 'leds', output: 1, train: { pulseWidthMs: 5 } },
    refractoryMs: 100,
  },
};

test('unit-spike: only units classified PV with confidence ≥ 2 fire, with their cause', async () => {
  const { sink, cellTypes, engine, batch, clock, latency } = await setup(pvRule);
  cellTypes.set(3, 'PV', 3.1);
  cellTypes.set(4, 'PV', 1.5); // below the confidence
  cellTypes.set(5, 'SST', 9);
  clock.advanceNs(250_000); // 250 µs from block arrival to evaluation
  const accepted = engine.onSpikes(fill(batch, [[5, 1000], [4, 1010], [-1, 1015], [3, 1020], [3, 1030]], clock.nowNs() - 250_000));
  assert.is(sink.triggers.length, 1, 'unit 3 once: its second spike is within the 100 ms refractory time');
  assert.is(accepted, 1, 'onSpikes returns the triggers accepted in that call');
  const t = sink.triggers[0];
  assert.is(t.mask, 2);
  assert.is(t.cause.reason, 'rule:pv-spike');
  assert.is(t.cause.streamId, 'probe0');
  assert.is(t.cause.sampleIndex, 1020);
  assert.is(t.cause.sourceReceiveTimeNs, clock.nowNs() - 250_000);
  assert.is(latency.count, 1);
  assert.ok(latency.maxUs === 250);
  // 100 ms later in stream time (3 000 samples), and once the 5 ms pulse is over, unit 3 fires again.
  clock.advanceMs(100);
  assert.is(engine.onSpikes(fill(batch, [[3, 4019]], clock.nowNs())), 0);
  assert.is(sink.triggers.length, 1, '2 999 samples: still refractory');
  engine.onSpikes(fill(batch, [[3, 4020]], clock.nowNs()));
  assert.is(sink.triggers.length, 2);
  // The classifier promotes unit 4: the rule follows the table at once.
  cellTypes.set(4, 'PV', 2.5);
  clock.advanceMs(200);
  engine.onSpikes(fill(batch, [[4, 12_000]], clock.nowNs()));
  assert.is(sink.triggers.length, 3);
  assert.equal([...engine.fired], [3]);
});

test('population rate: fires on each rising crossing of the summed rate, as a brute-force count says', async () => {
  const raw = {
    purkinje: {
      when: { kind: 'population-rate', cellType: 'PkC_ss', minConfidence: 2, windowMs: 20, thresholdHz: 500 },
      action: { sink: 'leds', output: 0, train: { pulseWidthMs: 0.1 } },
      refractoryMs: 0,
    },
  };
  const { sink, cellTypes, engine, batch, clock } = await setup(raw);
  cellTypes.set(1, 'PkC_ss', 4);
  cellTypes.set(2, 'PkC_ss', 4);
  cellTypes.set(7, 'MLI', 4);
  // Seeded spikes of units 1, 2 (Purkinje) and 7 (not counted), in bursts and pauses.
  let seed = 99;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const spikes: [number, number][] = [];
  let t = 0;
  for (let i = 0; i < 3000; i++) {
    const burst = Math.floor(i / 200) % 2 === 0;
    t += Math.max(1, Math.round((burst ? 30 : 300) * rand()));
    spikes.push([[1, 2, 7][Math.floor(rand() * 3)], t]);
  }
  // Brute force: the count of Purkinje spikes in (t − 600, t] (20 ms at 30 kHz) at each Purkinje
  // spike; fire when it goes above 10 (500 Hz × 20 ms) having been ≤ 10 just before that spike.
  const pk = spikes.filter(([u]) => u !== 7).map(([, x]) => x);
  const expected: number[] = [];
  let above = false;
  for (let i = 0; i < pk.length; i++) {
    let before = 0;
    for (let j = 0; j < i; j++) if (pk[j] > pk[i] - 600) before++;
    if (before <= 10) above = false;
    if (before + 1 > 10 && !above) {
      expected.push(pk[i]);
      above = true;
    }
  }
  assert.ok(expected.length > 5, `the test data must cross the threshold several times (${expected.length})`);
  // Host time follows stream time here, so that the governor sees each 1 ms pulse end.
  for (const spike of spikes) {
    clock.setNs(1e9 + (spike[1] / FS) * 1e9);
    engine.onSpikes(fill(batch, [spike], clock.nowNs()));
  }
  assert.equal([...engine.refused], [0], 'the governor let every trigger through');
  assert.equal(
    sink.triggers.map((x) => x.cause.sampleIndex),
    expected,
  );
});

test('explicit unit lists, and switching a rule off', async () => {
  const raw = {
    listed: {
      when: { kind: 'unit-spike', units: [2, 9] },
      action: { sink: 'leds', output: 0, train: { pulseWidthMs: 1 } },
      refractoryMs: 1,
    },
  };
  const { sink, engine, batch, clock } = await setup(raw);
  for (const spike of [[1, 100], [2, 200], [3, 300], [9, 400], [10_000, 500]] as [number, number][]) {
    clock.advanceMs(5); // past the previous 1 ms pulse
    engine.onSpikes(fill(batch, [spike], clock.nowNs()));
  }
  assert.equal(
    sink.triggers.map((x) => x.cause.sampleIndex),
    [200, 400],
    'units 2 and 9 only',
  );
  assert.ok(engine.setEnabled('listed', false));
  clock.advanceMs(5);
  engine.onSpikes(fill(batch, [[2, 1000]], clock.nowNs()));
  assert.is(sink.triggers.length, 2);
  assert.not.ok(engine.setEnabled('nope', true));
});

test('refused triggers are counted per rule; the governor decides', async () => {
  const { engine, batch, cellTypes, governor } = await setup({ ...pvRule, 'pv-spike': { ...pvRule['pv-spike'], refractoryMs: 0 } });
  cellTypes.set(3, 'PV', 5);
  // Three spikes in the same host instant: the 5 ms pulse of the first makes the output busy.
  engine.onSpikes(fill(batch, [[3, 10], [3, 20], [3, 30]], 0));
  assert.equal([...engine.fired], [1]);
  assert.equal([...engine.refused], [2]);
  governor.engageEstop('test');
  engine.onSpikes(fill(batch, [[3, 100_000]], 0));
  assert.equal([...engine.refused], [3]);
});

test('config: rules on one output must share its train; a rule needs a cell type or units; sinks must exist', async () => {
  const bad = s.validate(rulesSchema, {
    a: { when: { kind: 'unit-spike', cellType: 'PV' }, action: { sink: 'leds', output: 0, train: { pulseWidthMs: 5 } } },
    b: { when: { kind: 'unit-spike', cellType: 'SST' }, action: { sink: 'leds', output: 0, train: { pulseWidthMs: 10 } } },
    c: { when: { kind: 'unit-spike' }, action: { sink: 'leds', output: 1, train: { pulseWidthMs: 10 } } },
  });
  assert.not.ok(bad.ok);
  if (!bad.ok) {
    const text = bad.issues.map((i) => `${i.path}: ${i.message}`).join('\n');
    assert.match(text, 'c.when: expected cellType or units');
  }
  const conflict = s.validate(rulesSchema, {
    a: { when: { kind: 'unit-spike', cellType: 'PV' }, action: { sink: 'leds', output: 0, train: { pulseWidthMs: 5 } } },
    b: { when: { kind: 'unit-spike', cellType: 'SST' }, action: { sink: 'leds', output: 0, train: { pulseWidthMs: 10 } } },
  });
  assert.not.ok(conflict.ok);
  if (!conflict.ok) assert.match(conflict.issues[0].message, 'expected the same train as rule "a" on leds:0');
  const tooFew = s.validate(rulesSchema, {
    r: { when: { kind: 'population-rate', units: [1], windowMs: 1000, thresholdHz: 5000, maxSpikesInWindow: 100 }, action: { sink: 'leds', output: 0, train: { pulseWidthMs: 5 } } },
  });
  assert.not.ok(tooFew.ok);
  try {
    await setup({ r: { when: { kind: 'unit-spike', units: [1] }, action: { sink: 'pulsepal', output: 0, train: { pulseWidthMs: 5 } } } });
    assert.unreachable();
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_CONFIG_INVALID'));
    assert.match((error as Error).message, 'rules.r.action.sink: expected one of the rig\'s sinks (leds), got "pulsepal"');
  }
});

test.run();
