import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ClosedLoopCommands, type OptotagControl } from '../../src/closedloop/closed-loop-commands.js';
import { CellTypeTable } from '../../src/closedloop/rules/cell-type-table.js';
import { RuleEngine } from '../../src/closedloop/rules/rule-engine.js';
import { rulesSchema } from '../../src/closedloop/rules/rule-options.js';
import { SafetyGovernor } from '../../src/closedloop/safety-governor.js';
import { defaultSafetyConfig } from '../../src/closedloop/safety-options.js';
import * as s from '../../src/config/schema.js';
import { ManualClock } from '../../src/core/clock.js';
import type { CommandResult } from '../../src/core/commands.js';
import { FakeLightSink } from '../helpers/fake-light-sink.js';

const settle = () => new Promise((resolve) => setImmediate(resolve));

async function setup() {
  const clock = new ManualClock(1e9);
  const sinks = { leds: new FakeLightSink(clock, 2), laser: new FakeLightSink(clock, 1) };
  const governors = new Map<string, SafetyGovernor>();
  for (const [name, sink] of Object.entries(sinks)) {
    const g = new SafetyGovernor(sink, { sinkName: name, clock, config: defaultSafetyConfig() });
    await g.open();
    governors.set(name, g);
  }
  const rules = s.validate(rulesSchema, {
    pv: { enabled: true, when: { kind: 'unit-spike', cellType: 'PV' }, action: { sink: 'leds', output: 0, train: { pulseWidthMs: 5 } } },
    sst: { enabled: false, when: { kind: 'unit-spike', cellType: 'SST' }, action: { sink: 'laser', output: 0, train: { pulseWidthMs: 2 } } },
  });
  if (!rules.ok) throw new Error('rules');
  const engine = new RuleEngine({ rules: rules.value, sinks: governors, cellTypes: new CellTypeTable() });
  await engine.programSinks();
  let active: string | null = null;
  const events: string[] = [];
  const optotag: OptotagControl = {
    activeOutput: () => active,
    start: (origin): CommandResult => {
      active = 'laser:0';
      events.push(`start ${origin}`);
      return { ok: true, code: null, message: 'started' };
    },
    stop: (origin): CommandResult => {
      active = null;
      events.push(`stop ${origin}`);
      return { ok: true, code: null, message: 'stopping' };
    },
    abort: (reason) => {
      active = null;
      events.push(`abort ${reason}`);
    },
  };
  const commands = new ClosedLoopCommands({ governors, rules: engine, optotag });
  return { clock, sinks, governors, engine, commands, events };
}

test('stimulate: checked at once against the limits, then programmed and triggered', async () => {
  const { commands, sinks } = await setup();
  const r = commands.handle({ kind: 'stimulate', sink: 'leds', output: 1, train: { pulseWidthMs: 10, pulseIntervalMs: 0, pulseCount: 1, delayMs: 0, level: 0.5 } }, 'bus:dashboard');
  assert.ok(r.ok, r.message);
  await settle();
  assert.is(sinks.leds.triggers.length, 1);
  assert.is(sinks.leds.triggers[0].cause.reason, 'bus:dashboard');
  assert.is(sinks.leds.trains[1]!.pulseWidthMs, 10);
  const tooLong = commands.handle({ kind: 'stimulate', sink: 'leds', output: 1, train: { pulseWidthMs: 5000, pulseIntervalMs: 0, pulseCount: 1, delayMs: 0, level: 1 } }, 'bus:dashboard');
  assert.not.ok(tooLong.ok);
  assert.is(tooLong.code, 'E_STIM_LIMIT');
  assert.match(tooLong.message, 'pulse width 5000 ms exceeds the limit of 1000 ms');
  const nowhere = commands.handle({ kind: 'stimulate', sink: 'pulsepal', output: 0, train: { pulseWidthMs: 5, pulseIntervalMs: 0, pulseCount: 1, delayMs: 0, level: 1 } }, 'bus:x');
  assert.match(nowhere.message, 'no sink named "pulsepal" (sinks: leds, laser)');
});

test('outputs driven by an enabled rule or the optotag session are not available to manual trains', async () => {
  const { commands } = await setup();
  const train = { pulseWidthMs: 5, pulseIntervalMs: 0, pulseCount: 1, delayMs: 0, level: 1 };
  const r = commands.handle({ kind: 'stimulate', sink: 'leds', output: 0, train }, 'bus:x');
  assert.is(r.code, 'E_SINK_STATE');
  assert.match(r.message, 'leds output 0 is driven by rule "pv"; disable it first');
  assert.ok(commands.handle({ kind: 'start-optotag' }, 'bus:x').ok);
  assert.match(commands.handle({ kind: 'stimulate', sink: 'laser', output: 0, train }, 'bus:x').message, 'driven by the optotagging session');
  assert.match(commands.handle({ kind: 'set-rule-enabled', rule: 'sst', enabled: true }, 'bus:x').message, 'laser:0 is driven by the optotagging session');
  assert.match(commands.handle({ kind: 'start-optotag' }, 'bus:x').message, 'already running on laser:0');
  assert.ok(commands.handle({ kind: 'stop-optotag' }, 'bus:x').ok);
  assert.not.ok(commands.handle({ kind: 'stop-optotag' }, 'bus:x').ok);
  assert.ok(commands.handle({ kind: 'set-rule-enabled', rule: 'sst', enabled: true }, 'bus:x').ok);
  assert.match(commands.handle({ kind: 'set-rule-enabled', rule: 'nope', enabled: true }, 'bus:x').message, 'no rule named "nope"');
});

test('estop stops every sink and the optotag session; release re-programs the rules', async () => {
  const { commands, sinks, governors, events, clock } = await setup();
  commands.handle({ kind: 'start-optotag' }, 'bus:x');
  const r = commands.handle({ kind: 'estop' }, 'bus:panel');
  assert.ok(r.ok);
  assert.is(sinks.leds.aborts, 1);
  assert.is(sinks.laser.aborts, 1);
  assert.ok([...governors.values()].every((g) => g.estopEngaged));
  assert.equal(events.slice(-1), ['abort emergency stop by bus:panel']);
  const train = { pulseWidthMs: 5, pulseIntervalMs: 0, pulseCount: 1, delayMs: 0, level: 1 };
  const during = commands.handle({ kind: 'stimulate', sink: 'leds', output: 1, train }, 'bus:x');
  assert.is(during.code, 'E_STIM_ESTOP');
  commands.handle({ kind: 'release-estop' }, 'manual');
  await settle();
  clock.advanceMs(10);
  // The rule's output was programmed again: a rule trigger goes through.
  assert.ok(governors.get('leds')!.trigger(1, { reason: 'rule:pv', streamId: null, sampleIndex: null, sourceReceiveTimeNs: null }) > 0);
});

test.run();
