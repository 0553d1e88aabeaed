import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { busConfig, busConfigSchema } from '../../src/bus/config.js';
import { validateRigConfig } from '../../src/config/load.js';
import * as s from '../../src/config/schema.js';
import { isOptoloopError } from '../../src/core/errors.js';
import { dashboardConfigSchema } from '../../src/dashboard/config.js';
import { dashboardToken } from '../../src/dashboard/token.js';

test('bus defaults: loopback, port 8787, no tokens, compression never offered', () => {
  const c = busConfig();
  assert.is(c.host, '127.0.0.1');
  assert.is(c.port, 8787);
  assert.equal(c.tokens, []);
  assert.ok(c.maxBufferedBytes < c.closeBufferedBytes);
});

test('bus config refuses short tokens, duplicate names or secrets, unknown permissions and an inverted buffer pair', () => {
  const r = s.validate(busConfigSchema, {
    tokens: [
      { name: 'a', token: 'short', permissions: ['subscribe'] },
      { name: 'b', token: 'bbbbbbbbbbbbbbbb', permissions: ['fly'] },
      { name: 'c', token: 'cccccccccccccccc', permissions: ['stimulate'] },
      { name: 'c', token: 'cccccccccccccccc', permissions: ['stimulate'] },
    ],
  });
  assert.not.ok(r.ok);
  if (!r.ok) {
    const paths = r.issues.map((i) => i.path);
    assert.ok(paths.includes('tokens[0].token'), paths.join());
    assert.ok(paths.includes('tokens[1].permissions[0]'), paths.join());
  }
  const dup = s.validate(busConfigSchema, {
    tokens: [
      { name: 'c', token: 'cccccccccccccccc', permissions: ['stimulate'] },
      { name: 'c', token: 'cccccccccccccccc', permissions: ['stimulate'] },
    ],
    maxBufferedBytes: 1_000_000,
    closeBufferedBytes: 500_000,
  });
  assert.not.ok(dup.ok);
  if (!dup.ok) assert.equal(dup.issues.map((i) => i.path).sort(), ['closeBufferedBytes', 'tokens[1].name', 'tokens[1].token']);
});

test('busConfig() from code throws E_OPTIONS_INVALID naming the path', () => {
  try {
    busConfig({ port: 70000 });
    assert.unreachable('accepted port 70000');
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_OPTIONS_INVALID'));
    assert.match((error as Error).message, 'bus.port');
  }
});

test('the rig config carries bus, recorder and dashboard sections with defaults', () => {
  const rig = validateRigConfig({ source: { kind: 'sim' }, probe: {} });
  assert.is(rig.bus.port, 8787);
  assert.is(rig.recorder.enabled, false);
  assert.is(rig.recorder.flushIntervalMs, 1000);
  assert.is(rig.dashboard.token, null);
  try {
    validateRigConfig({ source: { kind: 'sim' }, probe: {}, recorder: { flushIntervalMs: 0 } });
    assert.unreachable('accepted a zero flush interval');
  } catch (error) {
    assert.match((error as Error).message, 'recorder.flushIntervalMs');
  }
});

test('dashboard token: generated read-only when none is named; a named one must exist and may subscribe', () => {
  const bus = busConfig({ tokens: [{ name: 'op', token: 'oooooooooooooooo', permissions: ['subscribe', 'stimulate'] }, { name: 'cmd', token: 'cccccccccccccccc', permissions: ['command'] }] });
  const dash = (token: string | null) => {
    const r = s.validate(dashboardConfigSchema, { token });
    if (!r.ok) throw new Error('bad');
    return r.value;
  };
  const generated = dashboardToken(bus, dash(null), (n) => Buffer.alloc(n, 7));
  assert.ok(generated.generated);
  assert.equal(generated.token.permissions, ['subscribe']);
  assert.is(generated.token.token, Buffer.alloc(24, 7).toString('base64url'));
  assert.ok(generated.token.token.length >= 16);
  assert.is(dashboardToken(bus, dash('op')).token.token, 'oooooooooooooooo');
  for (const name of ['nobody', 'cmd']) {
    try {
      dashboardToken(bus, dash(name));
      assert.unreachable(`accepted ${name}`);
    } catch (error) {
      assert.ok(isOptoloopError(error, 'E_CONFIG_INVALID'));
      assert.match((error as Error).message, 'dashboard.token');
    }
  }
});

test.run();
