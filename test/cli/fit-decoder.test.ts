import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CliIo } from '../../src/cli/command.js';
import { main } from '../../src/cli/main.js';
import { readDecoder } from '../../src/closedloop/bci/decoder-format.js';
import { makeBciWorld } from '../helpers/bci-world.js';
import { artifactDir } from '../helpers/paths.js';

const dir = artifactDir('cli-fit-decoder');

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => (out += t), err: (t) => (err += t), isTty: false, interrupted: new Promise(() => {}) };
  const code = await main(args, io);
  return { code, out, err };
}

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function worldFiles(): { spikes: string; behaviour: string } {
  const world = makeBciWorld(23, 120, 30);
  const lines = ['unit,time_s'];
  world.spikesS.forEach((times, i) => times.forEach((t) => lines.push(`${world.unitIds[i]},${t}`)));
  // A unit with two spikes only: left out by --min-spikes.
  lines.push('99,5', '99,6');
  const b = ['time_s,vx,vy'];
  world.behaviourTimesS.forEach((t, k) => b.push(`${t},${world.columns.vx[k]},${world.columns.vy[k]}`));
  return { spikes: write('spikes.csv', `${lines.join('\n')}\n`), behaviour: write('behaviour.csv', `${b.join('\n')}\n`) };
}

test('fits and writes a decoder the daemon can load; prints the held-out R²', async () => {
  const { spikes, behaviour } = worldFiles();
  for (const kind of ['linear', 'kalman']) {
    const out = join(dir, `${kind}.json`);
    const r = await run(['fit-decoder', '--spikes', spikes, '--behaviour', behaviour, '--out', out, '--kind', kind, '--lags', '3', '--json']);
    assert.is(r.code, 0, r.err);
    const summary = JSON.parse(r.out);
    assert.is(summary.units, 30);
    assert.equal(summary.unitsLeftOut, [99]);
    assert.equal(summary.outputs, ['vx', 'vy']);
    assert.ok(summary.testR2.every((v: number) => v > 0.6), `${kind}: ${summary.testR2}`);
    const decoder = readDecoder(out);
    assert.is(decoder.kind, kind);
    assert.is(decoder.binMs, 20);
    assert.is(decoder.unitIds.length, 30);
  }
  const text = await run(['fit-decoder', '--spikes', spikes, '--behaviour', behaviour, '--out', join(dir, 'x.json'), '--units', '1,2,3', '--bin-ms', '50']);
  assert.is(text.code, 0, text.err);
  assert.match(text.out, /linear decoder, 3 units, 50 ms bins/);
  assert.match(text.out, /held-out R² \(\d+ bins\): vx [-\d.]+, vy [-\d.]+/);
});

test('bad input is named: unit ids, behaviour order and columns, options', async () => {
  const { spikes, behaviour } = worldFiles();
  const out = join(dir, 'bad.json');
  const named = await run(['fit-decoder', '--spikes', write('named.csv', 'unit,time_s\npv1,0.1\n'), '--behaviour', behaviour, '--out', out]);
  assert.is(named.code, 1);
  assert.match(named.err, 'unit "pv1": expected a whole-number unit id');
  const backwards = await run(['fit-decoder', '--spikes', spikes, '--behaviour', write('back.csv', 'time_s,vx\n0,1\n0.5,2\n0.4,3\n'), '--out', out]);
  assert.match(backwards.err, /back\.csv: line 4, column 1 \(time_s\): expected a time after 0\.5, got 0\.4/);
  const noColumns = await run(['fit-decoder', '--spikes', spikes, '--behaviour', write('nocol.csv', 'time_s\n0\n1\n'), '--out', out]);
  assert.match(noColumns.err, 'expected at least one behaviour column after time_s');
  const kind = await run(['fit-decoder', '--spikes', spikes, '--behaviour', behaviour, '--out', out, '--kind', 'svm']);
  assert.is(kind.code, 2);
  assert.match(kind.err, '--kind: expected linear or kalman, got "svm"');
  const units = await run(['fit-decoder', '--spikes', spikes, '--behaviour', behaviour, '--out', out, '--units', '1,500']);
  assert.match(units.err, '--units: unit 500 has no spikes');
  const missing = await run(['fit-decoder', '--spikes', spikes, '--out', out]);
  assert.match(missing.err, '--behaviour <file> is required');
});

test.run();
