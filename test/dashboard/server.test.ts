/**
 * End to end: the dashboard page in Debian's Chromium (headless, through playwright-core), served
 * by the bus, fed by a fake daemon at 384 channels and 300 units. Checks that units appear with
 * their types, that the emergency stop reaches the CommandHandler and shows as engaged, that
 * stimulation controls appear only with the stimulate permission, and measures render frame times.
 */
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { busConfig } from '../../src/bus/config.js';
import { BusServer } from '../../src/bus/server.js';
import { createDashboardHandler, dashboardUrl } from '../../src/dashboard/server.js';
import { buildDashboardScripts, launchDashboardBrowser, openDashboard, unitTableRows, UNIT_COLUMNS as COL, type DashboardBrowser } from '../helpers/dashboard-browser.js';
import { FakeDaemon } from '../helpers/fake-daemon.js';
import { artifactDir } from '../helpers/paths.js';
import type { Page } from 'playwright-core';

const READ = 'dashboard-read-0123456789';
const OPERATOR = 'dashboard-operator-0123456789';

let browser: DashboardBrowser;
let server: BusServer;
let daemon: FakeDaemon;
let url = (_token: string) => '';
/** Browser-side expression (the page's own diagnostics, also shown in its footer). */
const STATS = 'window.optoloopDashboard.frameStats()';

test.before(async () => {
  try {
    await setUp();
  } catch (error) {
    console.error('set-up failed:', error); // uvu does not report hook failures itself
    throw error;
  }
});

async function setUp(): Promise<void> {
  buildDashboardScripts();
  const handlerRef: { current: FakeDaemon | null } = { current: null };
  server = new BusServer({
    config: busConfig({
      port: 0,
      tokens: [
        { name: 'viewer', token: READ, permissions: ['subscribe'] },
        { name: 'operator', token: OPERATOR, permissions: ['subscribe', 'stimulate'] },
      ],
    }),
    commands: { handle: (c, o) => handlerRef.current!.handle(c, o) },
    rig: 'fake-rig',
    httpHandler: createDashboardHandler(),
  });
  const address = await server.listen();
  url = (token) => dashboardUrl(address, token);
  daemon = new FakeDaemon(server, 300, 384);
  handlerRef.current = daemon;
  daemon.start();
  browser = await launchDashboardBrowser();
}

test.after(async () => {
  daemon?.stop();
  await browser?.close();
  await server?.close();
});

async function openPage(token: string): Promise<Page> {
  return (await openDashboard(browser, url(token))).page;
}

test('units from the publisher appear with their types; no script errors', async () => {
  const { page, problems } = await openDashboard(browser, url(READ));
  await page.waitForFunction("document.querySelectorAll('#units tbody tr').length === 300", undefined, { timeout: 15_000 });
  const rows = await unitTableRows(page);
  for (const u of daemon.units.slice(0, 20)) {
    const row = rows.find((r) => r[COL.unit] === String(u.unitId))!;
    assert.ok(row, `unit ${u.unitId} listed`);
    assert.is(row[COL.channel], String(u.peakChannel));
    assert.is(row[COL.type], u.classification?.label ?? 'abstain', `unit ${u.unitId} type`);
    assert.is(row[COL.tag], u.tag!.state);
  }
  assert.is(await page.textContent('#unit-count'), '300');
  assert.is(await page.textContent('#permissions'), 'subscribe');
  assert.ok(await page.isHidden('#stim'), 'no stimulation controls without the stimulate permission');
  assert.equal(problems, []);
  await page.close();
});

test('the raster stays fluid at 384 channels and 300 units (frame times measured, printed)', async () => {
  const page = await openPage(READ);
  await page.waitForFunction(`${STATS}.frames >= 240 && ${STATS}.dots > 1000`, undefined, { timeout: 30_000, polling: 500 });
  const stats = (await page.evaluate(STATS)) as Record<string, number>;
  console.log(
    `  dashboard render (headless Chromium, --disable-gpu, 384 ch, 300 units, ${stats.dots} dots on screen, ${stats.spikes} spikes received): ` +
      `work per frame p50 ${stats.p50Ms.toFixed(2)} ms p99 ${stats.p99Ms.toFixed(2)} ms max ${stats.maxMs.toFixed(2)} ms; ` +
      `frame interval p50 ${stats.intervalP50Ms.toFixed(1)} ms p99 ${stats.intervalP99Ms.toFixed(1)} ms over the last ${Math.min(600, stats.frames)} of ${stats.frames} frames`,
  );
  assert.ok(stats.spikes > 0 && stats.dots > 0, 'spikes reach the raster');
  // Pixels of unit colours on the raster canvas: PV red must be among them (several units are PV).
  const redPixels = (await page.evaluate(`(() => {
    const c = document.getElementById('raster');
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] === 0xe5 && data[i + 1] === 0x48 && data[i + 2] === 0x4d) n++;
    return n;
  })()`)) as number;
  assert.ok(redPixels > 0, 'PV spikes drawn in PV red');
  await page.close();
});

test('the emergency stop reaches the CommandHandler and the page shows it engaged', async () => {
  const page = await openPage(READ);
  await page.waitForSelector('#estop-state.released', { timeout: 15_000 });
  const before = daemon.commands.length;
  await page.click('#estop');
  await page.waitForSelector('#estop-state.engaged', { timeout: 15_000 });
  const sent = daemon.commands.slice(before);
  assert.equal(sent.map((c) => c.command), [{ kind: 'estop' }]);
  assert.match(sent[0].origin, 'bus:viewer#');
  assert.match((await page.textContent('#messages')) ?? '', 'engaged');
  // The engaged state comes back in the daemon's status, not only from the click.
  await page.waitForFunction("document.getElementById('estop-state').textContent === 'ENGAGED'");
  await page.close();
});

test('with the stimulate permission the controls appear and send a stimulate command; screenshot saved', async () => {
  const page = await openPage(OPERATOR);
  await page.waitForSelector('#stim:not([hidden])', { timeout: 15_000 });
  assert.match((await page.textContent('#permissions')) ?? '', 'stimulate');
  await page.fill('#stim-width', '2');
  await page.fill('#stim-count', '3');
  const before = daemon.commands.length;
  await page.click('#stim-send');
  await page.waitForFunction("document.getElementById('messages').textContent.startsWith('stimulate')", undefined, { timeout: 15_000 });
  const sent = daemon.commands.slice(before).map((c) => c.command);
  assert.equal(sent, [{ kind: 'stimulate', sink: 'led', output: 0, train: { pulseWidthMs: 2, pulseIntervalMs: 100, pulseCount: 3, delayMs: 0, level: 0.5 } }]);
  // Select a tagged unit so the PSTH shows, let the raster fill its 5 s window, then take the screenshot artefact.
  await page.click('#units tbody tr[data-unit="7"]');
  await page.waitForFunction("document.getElementById('sel-id').textContent === '7'");
  await page.waitForFunction(`${STATS}.frames > 330`, undefined, { timeout: 30_000, polling: 500 });
  const file = join(artifactDir('dashboard'), 'dashboard.png');
  await page.screenshot({ path: file, fullPage: true });
  console.log(`  screenshot: ${file}`);
  await page.close();
});

test.run();
