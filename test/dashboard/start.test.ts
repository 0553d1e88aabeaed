import { existsSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BusClient } from '../../src/bus/client.js';
import { busConfig } from '../../src/bus/config.js';
import { packageRoot } from '../../src/core/package-root.js';
import { isOptoloopError } from '../../src/core/errors.js';
import { startBusAndDashboard } from '../../src/dashboard/start.js';
import { RecordingHandler } from '../helpers/bus.js';
import { buildDashboardScripts } from '../helpers/dashboard-browser.js';

test.before(() => buildDashboardScripts());

test('with no configured token, the printed URL carries a generated read-only token that works on the bus', async () => {
  const handler = new RecordingHandler();
  const { bus, dashboardUrl } = await startBusAndDashboard(
    { rig: 'rig-7', bus: busConfig({ port: 0 }), dashboard: { enabled: true, token: null, rasterWindowS: 5, generatedTokenCanStimulate: false } },
    handler,
  );
  assert.ok(dashboardUrl);
  const url = new URL(dashboardUrl!);
  assert.is(url.hostname, '127.0.0.1');
  const token = new URLSearchParams(url.hash.slice(1)).get('token')!;
  assert.ok(token.length >= 16);
  const page = await fetch(new URL('/', url));
  assert.is(page.status, 200);
  assert.match(await page.text(), '/app/dashboard/web/main.js');
  assert.match(page.headers.get('content-security-policy') ?? '', "connect-src 'self'");
  assert.is((await fetch(new URL('/app/dashboard/web/main.js', url))).status, 200);
  // A path escaping the web root (encoded so that no client normalises it) is not served.
  assert.ok(existsSync(join(packageRoot(), 'bin', 'optoloop.js')));
  const escaped = await new Promise<number>((resolve, reject) =>
    get({ host: url.hostname, port: url.port, path: '/app/..%2F..%2Fbin%2Foptoloop.js' }, (r) => {
      r.resume();
      resolve(r.statusCode ?? 0);
    }).on('error', reject),
  );
  assert.is(escaped, 404);
  const malformed = await new Promise<number>((resolve, reject) =>
    get({ host: url.hostname, port: url.port, path: '/app/%E0%A4%A.js' }, (r) => {
      r.resume();
      resolve(r.statusCode ?? 0);
    }).on('error', reject),
  );
  assert.is(malformed, 400, 'a malformed escape is refused, not a crash');
  assert.is((await fetch(new URL('/optoloop.proto', url))).status, 200);
  const client = await BusClient.connect(bus.address!.url, { token });
  assert.equal(client.welcome!.permissions, ['subscribe']);
  assert.is(client.welcome!.rig, 'rig-7');
  assert.is((await client.command({ kind: 'start-optotag' })).code, 'E_BUS_PERMISSION');
  assert.is((await client.command({ kind: 'estop' })).ok, true);
  assert.equal(handler.received.map((r) => r.command.kind), ['estop']);
  await client.close();
  await bus.close();
});

test('a named dashboard token must exist; a disabled dashboard gives no URL', async () => {
  try {
    await startBusAndDashboard({ rig: 'r', bus: busConfig({ port: 0 }), dashboard: { enabled: true, token: 'ghost', rasterWindowS: 5, generatedTokenCanStimulate: false } }, new RecordingHandler());
    assert.unreachable('started with an unknown token name');
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_CONFIG_INVALID'));
  }
  const { bus, dashboardUrl } = await startBusAndDashboard({ rig: 'r', bus: busConfig({ port: 0 }), dashboard: { enabled: false, token: null, rasterWindowS: 5, generatedTokenCanStimulate: false } }, new RecordingHandler());
  assert.is(dashboardUrl, null);
  assert.is((await fetch(bus.address!.httpUrl)).status, 404);
  await bus.close();
});

test.run();
