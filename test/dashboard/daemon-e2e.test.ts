/**
 * End to end on the real daemon: the simulator (32 channels, seeded, in real time) through the
 * pipeline, online clustering and the shipped cortex classifier, its light behind the safety
 * governor, the bus serving the dashboard — and the page in Debian's Chromium (headless, through
 * playwright-core). What the page shows is checked against the daemon (`unitSummaries()`), the
 * model's classes and the simulator's ground truth (every pulse of light it emitted).
 * (server.test.ts drives the same page with a fake daemon at 384 channels and measures frame times.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { Subscription } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateRigConfig } from '../../src/config/load.js';
import { packageRoot } from '../../src/core/package-root.js';
import type { StimulusAck } from '../../src/core/stimulus-sink.js';
import type { TagSummary, UnitSummary } from '../../src/core/units.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { MemoryLog } from '../../src/daemon/log.js';
import { SimSource } from '../../sim/sim-source.js';
import type { SimGenerator } from '../../sim/generator.js';
import { waitFor } from '../helpers/async.js';
import { buildDashboardScripts, launchDashboardBrowser, openDashboard, unitTableRows, UNIT_COLUMNS as COL, UNIT_TABLE_JS, type DashboardBrowser } from '../helpers/dashboard-browser.js';
import { artifactDir } from '../helpers/paths.js';

const OPERATOR = 'e2e-operator-0123456789';
const SAMPLE_RATE_HZ = 30_000;
/** Units that must carry a cell type on the page (the seeded run labels its first within ~10 s of stream). */
const MIN_LABELLED = 3;
/** The model's classes, read from its manifest (not from the code under test). */
const MODEL_CLASSES: string[] = JSON.parse(readFileSync(join(packageRoot(), 'models', 'cortex', 'manifest.json'), 'utf8')).classes;

const config = validateRigConfig({
  rig: 'e2e-rig',
  source: { kind: 'sim', preset: 'cortex', probe: 'A1x32-Poly3-10mm-50-177', channels: 32, seed: 5, realTime: true, speed: 1, durationS: null, opsin: ['PV'] },
  sinks: { led: { kind: 'sim' } },
  bus: { port: 0, tokens: [{ name: 'operator', token: OPERATOR, permissions: ['subscribe', 'stimulate'] }] },
  dashboard: { enabled: true, token: 'operator' },
  // The shipped model with its own policy: first classification at the model's minSpikes (100).
  classifier: { model: 'cortex' },
  // Early identification on, so that the page shows how its ids compare with the full assignment's.
  pipeline: { snippets: { earlySamplesAfter: 12 } },
  // Pulses every 0.55–0.75 s (the shortest the 500 ms baseline allows with margin); a unit may be decided after 10.
  optotag: { label: 'PV', protocol: { sink: 'led', output: 0, pulseWidthMs: 5, intervalMs: 650, intervalJitterMs: 100, minPulses: 10 } },
  daemon: { statusIntervalMs: 250, unitsIntervalMs: 250 },
});

let daemon: Daemon;
let generator: SimGenerator;
let browser: DashboardBrowser;
let page: Page;
let problems: string[] = [];
const log = new MemoryLog();
/** Every acknowledgement of every governed sink, in order. */
const acks: { sink: string; ack: StimulusAck }[] = [];
let ackSubscription: Subscription;

test.before(async () => {
  try {
    buildDashboardScripts();
    daemon = await Daemon.start(config, { log });
    ackSubscription = daemon.acks$.subscribe((a) => acks.push(a));
    assert.ok(daemon.source instanceof SimSource, 'the simulator is the source');
    generator = (daemon.source as SimSource).simulation.generator;
    assert.ok(daemon.dashboardUrl, 'the daemon prints a dashboard URL');
    browser = await launchDashboardBrowser();
    ({ page, problems } = await openDashboard(browser, daemon.dashboardUrl!));
  } catch (error) {
    console.error('set-up failed:', error, log.text()); // uvu does not report hook failures itself
    // uvu runs no after-hook then: close what opened, or the open bus and source keep the process alive.
    await browser?.close();
    await daemon?.stop();
    throw error;
  }
});

test.after(async () => {
  ackSubscription?.unsubscribe();
  await browser?.close();
  await daemon?.stop();
});

const streamTimeS = () => daemon.status().streamTimeS;

/** Waits until the page's stream time (from the daemon's status messages) has passed `s`. */
async function pageStreamPast(s: number, guardMs = 15_000): Promise<void> {
  await page.waitForFunction(`parseFloat(document.getElementById('stream-time').textContent) > ${s}`, undefined, { timeout: guardMs });
}

/** The tag state the page should show for a unit (undecided: tested, then the session ended without a verdict). */
function tagText(tag: TagSummary | null | undefined): string {
  if (!tag) return '—';
  return tag.state === 'untested' && tag.pulses > 0 ? 'undecided' : tag.state;
}

const figure = (v: number | null | undefined, digits: number) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits));

/** The tag columns where page and daemon differ: the state, and with `figures` SALT p, latency and jitter. */
function tagColumnsDisagree(figures: boolean) {
  return (rows: string[][], units: Map<number, UnitSummary>): string[] => {
    const wrong: string[] = [];
    for (const r of rows) {
      const tag = units.get(Number(r[COL.unit]))?.tag;
      const expected: [number, string, string][] = [[COL.tag, 'tag', tagText(tag)]];
      if (figures) {
        expected.push([COL.saltP, 'SALT p', tag?.saltP == null ? '—' : tag.saltP.toPrecision(2)]);
        expected.push([COL.latencyMs, 'latency', figure(tag?.latencyMs, 2)]);
        expected.push([COL.jitterMs, 'jitter', figure(tag?.jitterMs, 2)]);
      }
      for (const [column, name, text] of expected) if (r[column] !== text) wrong.push(`unit ${r[COL.unit]}: page ${name} ${r[column]}, daemon ${text}`);
    }
    return wrong;
  };
}

/**
 * Compares the unit table with the daemon's unit summaries through `check` (which returns what
 * disagrees). The page shows the last units message, so a unit reclassified since may differ:
 * then the comparison waits for the table to change (the next message) and tries again.
 */
async function agreesWithDaemon(check: (rows: string[][], units: Map<number, UnitSummary>) => string[], attempts = 10): Promise<string[][]> {
  let problemsFound: string[] = [];
  for (let attempt = 0; attempt < attempts; attempt++) {
    const rows = await unitTableRows(page);
    const units = new Map(daemon.unitSummaries().map((u) => [u.unitId, u]));
    problemsFound = check(rows, units);
    if (problemsFound.length === 0) return rows;
    const before = JSON.stringify(rows);
    try {
      await page.waitForFunction(`JSON.stringify(${UNIT_TABLE_JS}) !== ${JSON.stringify(before)}`, undefined, { timeout: 10_000 });
    } catch (error) {
      throw new Error(`the page disagrees with the daemon and its table stopped changing: ${problemsFound.join('; ')}`, { cause: error });
    }
  }
  throw new Error(`the page disagrees with the daemon: ${problemsFound.join('; ')}`);
}

test('the page loads, connected with the stimulate permission; the simulator’s units appear with cell types from the model, as the daemon has them', async () => {
  assert.match((await page.textContent('#permissions')) ?? '', 'stimulate');
  assert.ok(await page.isVisible('#stim'), 'stimulation controls with the stimulate permission');
  assert.is(await page.textContent('#rig'), 'e2e-rig');
  await page.waitForFunction(`${UNIT_TABLE_JS}.filter((r) => ${JSON.stringify(MODEL_CLASSES)}.includes(r[${COL.type}])).length >= ${MIN_LABELLED}`, undefined, { timeout: 60_000, polling: 250 });
  const rows = await agreesWithDaemon((rows, units) => {
    const wrong: string[] = [];
    for (const r of rows) {
      const u = units.get(Number(r[COL.unit]));
      if (!u) {
        wrong.push(`unit ${r[COL.unit]} is on the page, not in the daemon`);
        continue;
      }
      const label = u.classification ? (u.classification.label ?? 'abstain') : '—';
      if (r[COL.type] !== label) wrong.push(`unit ${u.unitId}: page type ${r[COL.type]}, daemon ${label}`);
      const confidence = u.classification ? u.classification.confidenceRatio.toFixed(1) : '—';
      if (r[COL.confidence] !== confidence) wrong.push(`unit ${u.unitId}: page confidence ${r[COL.confidence]}, daemon ${confidence}`);
    }
    return wrong;
  });
  const labelled = rows.filter((r) => MODEL_CLASSES.includes(r[COL.type]));
  assert.ok(labelled.length >= MIN_LABELLED, `${labelled.length} labelled units`);
  for (const r of rows) {
    assert.ok(MODEL_CLASSES.includes(r[COL.type]) || r[COL.type] === 'abstain' || r[COL.type] === '—', `unit ${r[COL.unit]}: type ${r[COL.type]}`);
    assert.ok(Number(r[COL.rateHz]) > 0, `unit ${r[COL.unit]}: rate ${r[COL.rateHz]}`);
    assert.ok(Number(r[COL.spikes]) > 0, `unit ${r[COL.unit]}: spikes ${r[COL.spikes]}`);
  }
  assert.is(await page.textContent('#unit-count'), String(rows.length));
  // Early ids: the page's counts are a status the daemon published, never more than it has now.
  const early = /^early ids \(what the rules act on\), of (\d+) assigned spikes: same unit as the full snippet ([\d.]+) %, another unit ([\d.]+) %, none ([\d.]+) %$/.exec((await page.textContent('#early-ids')) ?? '');
  assert.ok(early, `early ids line: ${await page.textContent('#early-ids')}`);
  const now = daemon.units!.earlyIdCounts()!;
  const shown = Number(early[1]);
  assert.ok(shown > 0 && shown <= now.agreed + now.missed + now.differed, `page ${shown} assigned spikes, daemon ${now.agreed + now.missed + now.differed}`);
  assert.ok(Math.abs(Number(early[2]) + Number(early[3]) + Number(early[4]) - 100) < 0.2, early[0]);
  assert.ok(Number(early[2]) > 80, early[0]);
  console.log(
    `  at ${streamTimeS().toFixed(1)} s of stream: ${rows.length} units, ${labelled.length} labelled (${labelled.map((r) => `${r[COL.unit]}:${r[COL.type]} ×${r[COL.confidence]}`).join(', ')})`,
  );
  assert.equal(problems, [], 'no script errors');
});

test('stimulation from the page reaches the simulated light through the governor', async () => {
  const delivered = waitFor(daemon.acks$, (a) => a.ack.kind === 'trigger' && a.ack.outputMask === 0b10, 'the manual trigger’s acknowledgement');
  await page.fill('#stim-sink', 'led');
  await page.fill('#stim-output', '1');
  await page.fill('#stim-width', '5');
  await page.fill('#stim-count', '1');
  await page.click('#stim-send');
  const { sink, ack } = await delivered;
  assert.is(sink, 'led');
  assert.ok(ack.ok, ack.error?.message);
  assert.match(ack.cause!.reason, 'bus:operator#');
  await page.waitForFunction("document.getElementById('messages').textContent.startsWith('stimulate: ')");
  // The simulator emitted the pulse, where the acknowledgement says, 5 ms wide.
  const onset = Math.round((ack.deviceTimeUs! * SAMPLE_RATE_HZ) / 1e6);
  const pulse = generator.groundTruth.pulses.find((p) => p.requestId === ack.requestId);
  assert.ok(pulse, 'the pulse is in the ground truth');
  assert.is(pulse!.output, 1);
  assert.is(pulse!.onsetSample, onset);
  assert.is(pulse!.offsetSample - pulse!.onsetSample, 5 * (SAMPLE_RATE_HZ / 1000));
});

test('optotagging started from the page: units show their tag state, latency, jitter and PSTH, as the daemon has them', async () => {
  await page.click('#optotag-start');
  await page.waitForFunction("document.getElementById('messages').textContent.startsWith('start optotagging: optotagging started on led:0')", undefined, { timeout: 10_000 });
  // Testing first, then tagged: the PV units express the opsin.
  await page.waitForFunction(`${UNIT_TABLE_JS}.some((r) => r[${COL.tag}] === 'testing')`, undefined, { timeout: 15_000 });
  await page.waitForFunction(`${UNIT_TABLE_JS}.some((r) => r[${COL.tag}] === 'tagged')`, undefined, { timeout: 45_000, polling: 250 });
  // The statistics move with every pulse while the session runs: here the states; the figures after the stop.
  const rows = await agreesWithDaemon(tagColumnsDisagree(false));
  const tagged = rows.filter((r) => r[COL.tag] === 'tagged');
  assert.ok(tagged.length >= 1);
  for (const r of tagged) {
    assert.ok(Number(r[COL.latencyMs]) > 0 && Number(r[COL.latencyMs]) < 10, `unit ${r[COL.unit]}: latency ${r[COL.latencyMs]} ms`);
    assert.ok(Number(r[COL.jitterMs]) >= 0, `unit ${r[COL.unit]}: jitter ${r[COL.jitterMs]} ms`);
    assert.ok(Number(r[COL.saltP]) < 0.01, `unit ${r[COL.unit]}: SALT p ${r[COL.saltP]}`);
  }
  // The light the simulator emitted is the session's, pulse for pulse (one may be in flight).
  const sessionPulses = generator.groundTruth.pulses.filter((p) => p.reason === 'optotag');
  const sessionAcks = acks.filter((a) => a.ack.kind === 'trigger' && a.ack.ok && a.ack.cause?.reason === 'optotag');
  assert.ok(sessionPulses.length >= 10, `${sessionPulses.length} tagging pulses emitted`);
  assert.ok(Math.abs(sessionPulses.length - sessionAcks.length) <= 1, `${sessionPulses.length} pulses emitted, ${sessionAcks.length} acknowledged`);
  // Select a tagged unit: its panel shows the tag, and the PSTH is drawn in the unit's type colour.
  const id = tagged[0][COL.unit];
  await page.click(`#units tbody tr[data-unit="${id}"]`);
  await page.waitForFunction(`document.getElementById('sel-id').textContent === '${id}' && document.getElementById('sel-kv').textContent.includes('tagged ·')`);
  const psthPixels = (await page.evaluate(`(() => {
    const colour = getComputedStyle(document.querySelector('#units tbody tr[data-unit="${id}"] td:nth-child(3)')).color;
    const [r, g, b] = colour.match(/\\d+/g).map(Number);
    const c = document.getElementById('psth');
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] === r && data[i + 1] === g && data[i + 2] === b && data[i + 3] === 255) n++;
    return n;
  })()`)) as number;
  assert.ok(psthPixels > 0, 'PSTH bars drawn');
  console.log(`  at ${streamTimeS().toFixed(1)} s of stream: ${tagged.length} tagged (${tagged.map((r) => `${r[COL.unit]}:${r[COL.type]} ${r[COL.latencyMs]}±${r[COL.jitterMs]} ms`).join(', ')}), ${sessionPulses.length} tagging pulses`);
});

test('the emergency stop from the page: governors engaged, no light after it, the page shows it, later triggers refused with E_STIM_ESTOP; screenshot saved', async () => {
  let pulsesAtStop = -1;
  let acksAtStop = -1;
  const aborted = waitFor(daemon.acks$, (a) => {
    if (a.ack.kind !== 'abort') return false;
    // Synchronous with the abort: what the simulator had emitted and acknowledged until then.
    pulsesAtStop = generator.groundTruth.pulses.length;
    acksAtStop = acks.length;
    return true;
  }, 'the light sink’s abort');
  await page.click('#estop');
  const { ack: abortAck } = await aborted;
  assert.ok(abortAck.ok);
  assert.ok(daemon.estopEngaged, 'the daemon’s governors report the emergency stop engaged');
  assert.ok(daemon.status().estopEngaged);
  const stopS = abortAck.deviceTimeUs! / 1e6;
  await page.waitForSelector('#estop-state.engaged', { timeout: 10_000 });
  assert.match((await page.textContent('#messages')) ?? '', 'emergency stop: emergency stop engaged');

  // Every later attempt is refused, from the page (a bus command) and through the daemon's handler.
  await page.fill('#stim-output', '0');
  await page.click('#stim-send');
  await page.waitForFunction("document.getElementById('messages').textContent.startsWith('stimulate refused: E_STIM_ESTOP')", undefined, { timeout: 10_000 });
  const direct = daemon.handle({ kind: 'stimulate', sink: 'led', output: 1, train: { pulseWidthMs: 5, pulseIntervalMs: 100, pulseCount: 1, delayMs: 0, level: 0.5 } }, 'test');
  assert.not.ok(direct.ok);
  assert.is(direct.code, 'E_STIM_ESTOP');

  // Two more seconds of stream (three tagging intervals): the page still shows it engaged, from the
  // daemon's status; the simulator emitted no light and the sink acknowledged no trigger.
  await pageStreamPast(stopS + 2);
  assert.is(await page.textContent('#estop-state'), 'ENGAGED');
  assert.is(generator.groundTruth.pulses.length, pulsesAtStop, 'no pulse emitted after the emergency stop');
  const after = acks.slice(acksAtStop).filter((a) => a.ack.kind === 'trigger' && a.ack.ok);
  assert.equal(after, [], 'no trigger acknowledged after the emergency stop');
  assert.match(log.text(), /emergency stop engaged by bus:operator#/);
  // The session was aborted with the light: no unit is shown as still testing, none that had pulses as untested.
  await page.waitForFunction(`!${UNIT_TABLE_JS}.some((r) => r[${COL.tag}] === 'testing')`, undefined, { timeout: 10_000 });
  // The aborted session's figures no longer move: the page shows them as the daemon has them.
  const rows = await agreesWithDaemon(tagColumnsDisagree(true));
  for (const r of rows) {
    const tag = daemon.unitSummaries().find((u) => u.unitId === Number(r[COL.unit]))?.tag;
    if (tag && tag.pulses > 0) assert.ok(['tagged', 'not-tagged', 'undecided'].includes(r[COL.tag]), `unit ${r[COL.unit]} (${tag.pulses} pulses): ${r[COL.tag]}`);
  }
  console.log(`  after the stop: ${['tagged', 'not-tagged', 'undecided', 'untested'].map((s) => `${rows.filter((r) => r[COL.tag] === s).length} ${s}`).join(', ')}`);

  const file = join(artifactDir('dashboard'), 'dashboard-daemon-e2e.png');
  await page.screenshot({ path: file, fullPage: true });
  console.log(`  screenshot: ${file}`);
  assert.equal(problems, [], 'no script errors');
});

test.run();
