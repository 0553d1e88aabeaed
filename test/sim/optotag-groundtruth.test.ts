// The simulator as the ground truth of optotagging: its recording's light pulses and spike trains
// go through the closed loop's offline analysis (SALT, latency, reliability; src/closedloop), and
// the units the simulator made express the opsin are the ones tagged, with the latency it gave them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/command.js';
import { analyseOffline, sortPulses } from '../../src/closedloop/optotag-offline.js';
import { defaultAnalysisOptions, defaultTagCriteria } from '../../src/closedloop/optotag-options.js';
import { artifactDir } from '../helpers/paths.js';

const dir = artifactDir('sim-optotag');

test('optoloop sim --light optotag: expressing units are tagged at their latency, the others are not', async () => {
  const io: CliIo = { out: () => {}, err: () => {}, isTty: false, interrupted: new Promise<void>(() => {}) };
  const code = await main(['sim', '--out', dir, '--format', 'raw', '--preset', 'cortex', '--channels', '64', '--units', '48', '--duration', '240', '--seed', '17', '--light', 'optotag'], io);
  assert.is(code, 0);
  const gt = JSON.parse(readFileSync(join(dir, 'ground_truth.json'), 'utf8')) as {
    sampleRateHz: number;
    units: { id: number; type: string; lightResponsive: boolean; light: { latencyMs: number; jitterMs: number } }[];
    spikes: { sample: number[]; unit: number[] };
    lightPulses: { onsetS: number; offsetS: number }[];
  };
  const spikes = new Map<string, number[]>();
  gt.spikes.sample.forEach((s, i) => {
    const u = String(gt.spikes.unit[i]);
    if (!spikes.has(u)) spikes.set(u, []);
    spikes.get(u)!.push(s / gt.sampleRateHz);
  });
  const pulses = sortPulses(gt.lightPulses.map((p) => p.onsetS), gt.lightPulses.map((p) => p.offsetS));
  const results = analyseOffline(new Map([...spikes].map(([u, t]) => [u, Float64Array.from(t)])), pulses, defaultAnalysisOptions(), defaultTagCriteria());
  const byId = new Map(results.map((r) => [Number(r.unit), r]));
  const expressing = gt.units.filter((u) => u.lightResponsive);
  const others = gt.units.filter((u) => !u.lightResponsive && byId.has(u.id));
  assert.ok(expressing.length >= 5 && others.length >= 20, `${expressing.length} expressing, ${others.length} others`);
  let hits = 0;
  for (const u of expressing) {
    const r = byId.get(u.id)!;
    if (r.decision.tagged) hits++;
    if (r.stats.latencyMs !== null) assert.ok(Math.abs(r.stats.latencyMs - u.light.latencyMs) <= 1 + u.light.jitterMs, `unit ${u.id}: latency ${r.stats.latencyMs} vs ${u.light.latencyMs}`);
  }
  const falsePositives = others.filter((u) => byId.get(u.id)!.decision.tagged).length;
  console.log(`  ${gt.lightPulses.length} pulses; tagged ${hits}/${expressing.length} expressing units, ${falsePositives}/${others.length} others`);
  assert.is(hits, expressing.length);
  assert.ok(falsePositives <= Math.ceil(0.05 * others.length), `${falsePositives} false positives`);
});

test.run();
