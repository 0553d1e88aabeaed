import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BusClient } from '../../src/bus/client.js';
import { TokenAuthenticator } from '../../src/bus/auth.js';
import { CLOSE_POLICY } from '../../src/bus/server.js';
import { isOptoloopError } from '../../src/core/errors.js';
import { eventually, COMMAND_TOKEN, READ_TOKEN, RawClient, STIM_TOKEN, startTestBus, type TestBus } from '../helpers/bus.js';

let bus: TestBus;
test.before.each(async () => {
  bus = await startTestBus();
});
test.after.each(async () => {
  await bus.server.close();
});

const stimulate = {
  requestId: 9,
  stimulate: { sink: 'led', output: 0, train: { pulseWidthMs: 5, pulseIntervalMs: 100, pulseCount: 1, delayMs: 0, level: 0.5 } },
};

test('TokenAuthenticator: finds the entry, refuses near misses, stimulate implies command', () => {
  const auth = new TokenAuthenticator([
    { name: 'a', token: 'aaaaaaaaaaaaaaaa', permissions: ['subscribe'] },
    { name: 'b', token: 'bbbbbbbbbbbbbbbb', permissions: ['stimulate'] },
  ]);
  assert.is(auth.authenticate('aaaaaaaaaaaaaaaa')?.tokenName, 'a');
  assert.is(auth.authenticate('aaaaaaaaaaaaaaab'), null);
  assert.is(auth.authenticate('aaaaaaaaaaaaaaa'), null);
  assert.is(auth.authenticate(''), null);
  const b = auth.authenticate('bbbbbbbbbbbbbbbb');
  assert.ok(b?.permissions.has('stimulate') && b.permissions.has('command'));
  assert.not.ok(b?.permissions.has('subscribe'));
});

test('a command sent before any hello is refused with E_BUS_AUTH, the connection closed, the handler never called', async () => {
  const c = await RawClient.open(bus.url);
  c.send({ command: { requestId: 1, estop: {} } });
  await c.until(() => c.closeCode !== null, 'close');
  assert.is(c.errors().length, 1);
  assert.is(c.errors()[0].message.code, 'E_BUS_AUTH');
  assert.ok(c.errors()[0].message.closing);
  assert.is(c.closeCode, CLOSE_POLICY);
  assert.is(bus.handler.received.length, 0);
});

test('a hello with a wrong or empty token is refused and closed', async () => {
  for (const token of ['wrong-token-0123456789abcdef', '']) {
    const c = await RawClient.open(bus.url);
    c.send({ hello: { token } });
    await c.until(() => c.closeCode !== null, 'close');
    assert.is(c.errors()[0]?.message.code, 'E_BUS_AUTH', `token ${JSON.stringify(token)}`);
    assert.is(c.controls('welcome').length, 0);
    assert.is(c.closeCode, CLOSE_POLICY);
  }
  await eventually(() => bus.server.clients().length === 0, 'the server to forget refused clients');
});

test('the typed client rejects a bad token with E_BUS_AUTH', async () => {
  try {
    await BusClient.connect(bus.url, { token: 'nope-nope-nope-nope' });
    assert.unreachable('connected with a wrong token');
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_BUS_AUTH'), String(error));
  }
});

test('a client that never says hello is closed after helloTimeoutMs', async () => {
  const c = await RawClient.open(bus.url);
  await c.until(() => bus.server.clients().length === 1, 'server sees the client');
  bus.timers.advanceMs(bus.config.helloTimeoutMs - 1);
  await new Promise((r) => setImmediate(r));
  assert.is(c.closeCode, null);
  bus.timers.advanceMs(1);
  await c.until(() => c.closeCode !== null, 'close');
  assert.is(c.errors()[0].message.code, 'E_BUS_AUTH');
  assert.match(c.errors()[0].message.message, 'no hello within');
});

test('stimulating commands without the stimulate permission are refused and never reach the handler', async () => {
  for (const token of [READ_TOKEN, COMMAND_TOKEN]) {
    const c = await RawClient.open(bus.url);
    await c.hello(token);
    c.send({ command: stimulate });
    c.send({ command: { requestId: 10, startOptotag: {} } });
    c.send({ command: { requestId: 11, setRuleEnabled: { rule: 'r1', enabled: true } } });
    c.send({ command: { requestId: 12, releaseEstop: {} } });
    await c.barrier();
    const errors = c.errors();
    assert.equal(errors.map((e) => e.message.code), ['E_BUS_PERMISSION', 'E_BUS_PERMISSION', 'E_BUS_PERMISSION', 'E_BUS_PERMISSION']);
    assert.equal(errors.map((e) => e.message.requestId), [9, 10, 11, 12]);
    assert.match(errors[0].message.message, 'stimulate permission');
    assert.is(c.closeCode, null, 'a permission refusal keeps the connection');
    c.close();
  }
  assert.is(bus.handler.received.length, 0);
});

test('non-stimulating commands need the command permission; the emergency stop needs only authentication', async () => {
  const reader = await RawClient.open(bus.url);
  await reader.hello(READ_TOKEN);
  reader.send({ command: { requestId: 1, stopOptotag: {} } });
  reader.send({ command: { requestId: 2, estop: {} } });
  await reader.barrier();
  assert.equal(reader.errors().map((e) => [e.message.code, e.message.requestId]), [['E_BUS_PERMISSION', 1]]);
  assert.equal(reader.controls('commandResult').map((f) => f.message.commandResult.requestId), [2]);
  const commander = await RawClient.open(bus.url);
  await commander.hello(COMMAND_TOKEN);
  commander.send({ command: { requestId: 3, stopOptotag: {} } });
  commander.send({ command: { requestId: 4, setRuleEnabled: { rule: 'r1', enabled: false } } });
  await commander.barrier();
  assert.is(commander.errors().length, 0);
  assert.equal(
    bus.handler.received.map((r) => r.command),
    [{ kind: 'estop' }, { kind: 'stop-optotag' }, { kind: 'set-rule-enabled', rule: 'r1', enabled: false }],
  );
  assert.match(bus.handler.received[0].origin, 'bus:reader#');
});

test('with the stimulate permission, the command reaches the handler and its result returns to the sender', async () => {
  const client = await BusClient.connect(bus.url, { token: STIM_TOKEN, clientName: 'operator-ui' });
  assert.equal([...client.welcome!.permissions].sort(), ['command', 'stimulate', 'subscribe']);
  assert.is(client.welcome!.tokenName, 'operator');
  bus.handler.result = { ok: false, code: 'E_STIM_LIMIT', message: 'pulse width 5 ms is above the 2 ms limit' };
  const result = await client.command({
    kind: 'stimulate',
    sink: 'led',
    output: 1,
    train: { pulseWidthMs: 5, pulseIntervalMs: 100, pulseCount: 3, delayMs: 1, level: 0.25 },
  });
  assert.equal(result, { ok: false, code: 'E_STIM_LIMIT', message: 'pulse width 5 ms is above the 2 ms limit' });
  assert.equal(bus.handler.received[0].command, {
    kind: 'stimulate',
    sink: 'led',
    output: 1,
    train: { pulseWidthMs: 5, pulseIntervalMs: 100, pulseCount: 3, delayMs: 1, level: 0.25 },
  });
  assert.match(bus.handler.received[0].origin, 'bus:operator#');
  await client.close();
});

test('the typed client resolves a refused command with the bus error code', async () => {
  const client = await BusClient.connect(bus.url, { token: READ_TOKEN });
  const result = await client.command({ kind: 'start-optotag' });
  assert.is(result.ok, false);
  assert.is(result.code, 'E_BUS_PERMISSION');
  assert.is(bus.handler.received.length, 0);
  await client.close();
});

test('a handler that throws gives a failed result, not a crashed bus', async () => {
  bus.handler.handle = () => {
    throw Object.assign(new Error('sink vanished'), { code: 'E_SINK_STATE' });
  };
  const client = await BusClient.connect(bus.url, { token: STIM_TOKEN });
  const result = await client.command({ kind: 'estop' });
  assert.equal(result, { ok: false, code: 'E_SINK_STATE', message: 'sink vanished' });
  assert.ok((await client.ping()) >= 0);
  await client.close();
});

test.run();
