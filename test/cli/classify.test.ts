import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../../src/cli/main.js';
import type { UnitSummary } from '../../src/core/units.js';
import { artifactDir } from '../helpers/paths.js';
import { syntheticLibrary } from '../helpers/synthetic-units.js';
import { trainTinyModel } from '../helpers/tiny-model.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), isTty: false, interrupted: new Promise<void>(() => {}) }, out, err };
}

const dir = artifactDir('cli-classify');
let model = '';

test.before(async () => {
  model = await trainTinyModel('cli-classify-model');
});

test('classify <recording>: a simulated recording through the live path to units.json', async () => {
  const rec = join(dir, 'rec');
  rmSync(rec, { recursive: true, force: true });
  const sim = capture();
  assert.is(await main(['sim', '--out', rec, '--duration', '12', '--channels', '32', '--preset', 'cortex', '--seed', '4'], sim.io), 0, sim.err.join(''));
  const out = join(dir, 'units.json');
  const c = capture();
  const code = await main(['classify', join(rec, 'sim_g0_t0.imec0.ap.bin'), '--model', model, '--out', out, '--backend', 'wasm'], c.io);
  assert.is(code, 0, c.err.join(''));
  const text = c.out.join('');
  assert.match(text, /12\.0 s × 32 channels/);
  assert.match(text, /online clustering\), \d+ units/);
  const doc = JSON.parse(readFileSync(out, 'utf8')) as { format: string; assignment: string; backend: string; spikes: number; assignedSpikes: number; units: UnitSummary[] };
  assert.is(doc.format, 'optoloop-units');
  assert.is(doc.assignment, 'online');
  assert.is(doc.backend, 'wasm');
  assert.ok(doc.units.length >= 3, `units ${doc.units.length}`);
  assert.ok(doc.assignedSpikes > 0.3 * doc.spikes, `${doc.assignedSpikes}/${doc.spikes}`);
  for (const u of doc.units) {
    assert.is(u.meanWaveformUv.length, 91);
    assert.is(u.acg.length, 100);
    assert.ok(u.firingRateHz > 0);
    assert.ok(u.peakChannel >= 0 && u.peakChannel < 32);
    if (u.spikeCount >= 100) {
      assert.ok(u.classification, `unit ${u.unitId} with ${u.spikeCount} spikes was classified`);
      assert.is(u.classification!.probabilities.length, 3);
    }
  }
});

test('classify --library: per-unit probabilities, accuracy and the confusion matrix', async () => {
  const lib = join(dir, 'library.json');
  writeFileSync(lib, JSON.stringify(syntheticLibrary(4, 42)));
  const c = capture();
  assert.is(await main(['classify', '--library', lib, '--model', model, '--backend', 'wasm'], c.io), 0, c.err.join(''));
  const text = c.out.join('');
  assert.match(text, /narrow-poisson-0 +narrow-poisson/);
  assert.match(text, /12 of 12 units carry one of the model's classes/);
  assert.match(text, /accuracy [\d.]+ % \(\d+\/12\)/);
  assert.match(text, /true \\ predicted/);
  const json = capture();
  assert.is(await main(['classify', '--library', lib, '--model', model, '--json'], json.io), 0);
  const first = JSON.parse(json.out.join('').split('\n')[0]);
  assert.equal(Object.keys(first.probabilities), ['narrow-poisson', 'wide-regular', 'medium-bursty']);
});

test('usage errors: no --out, both modes, an unknown model', async () => {
  const a = capture();
  assert.is(await main(['classify', 'x.bin'], a.io), 2);
  assert.match(a.err.join(''), /--out FILE is required/);
  const b = capture();
  assert.is(await main(['classify', 'x.bin', '--library', 'l.json', '--model', 'm'], b.io), 2);
  assert.match(b.err.join(''), /either a recording or --library/);
  const m = capture();
  writeFileSync(join(dir, 'empty-lib.json'), '{"units":[]}');
  assert.is(await main(['classify', '--library', join(dir, 'empty-lib.json'), '--model', 'no-such-model'], m.io), 1);
  assert.match(m.err.join(''), /E_MODEL_INVALID: model "no-such-model"/);
});

test.run();
