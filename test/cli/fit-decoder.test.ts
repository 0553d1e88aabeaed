import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readDecoder } from '../../src/closedloop/bci/decoder-format.js';
import { makeBciWorld } from '../helpers/bci-world.js';
import { runCli, writeInput } from '../helpers/cli.js';
import { artifactDir } from '../helpers/paths.js';

const dir = artifactDir('cli-fit-decoder');

const write = (name: string, text: string) => writeInput(dir, name, text);

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
    const r = await runCli(['fit-decoder', '--spikes', spikes, '--behaviour', behaviour, '--out', out, '--kind', kind, '--lags', '3', '--json']);
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
  const text = await runCli(['fit-decoder', '--spikes', spikes, '--behaviour', behaviour, '--out', join(dir, 'x.json'), '--units', '1,2,3', '--bin-ms', '50']);
  assert.is(text.code, 0, text.err);
  assert.match(text.out, /linear decoder, 3 units, 50 ms bins/);
  assert.match(text.out, /held-out R² \(\d+ bins\): vx [-\d.]+, vy [-\d.]+/);
});

test('bad input is named: unit ids, behaviour order and columns, options', async () => {
  const { spikes, behaviour } = worldFiles();
  const out = join(dir, 'bad.json');
  const named = await runCli(['fit-decoder', '--spikes', write('named.csv', 'unit,time_s\npv1,0.1\n'), '--behaviour', behaviour, '--out', out]);
  assert.is(named.code, 1);
  assert.match(named.err, 'unit "pv1": expected a whole-number unit id');
  const backwards = await runCli(['fit-decoder', '--spikes', spikes, '--behaviour', write('back.csv', 'time_s,vx\n0,1\n0.5,2\n0.4,3\n'), '--out', out]);
  assert.match(backwards.err, /back\.csv: line 4, column 1 \(time_s\): expected a time after 0\.5, got 0\.4/);
  const noColumns = await runCli(['fit-decoder', '--spikes', spikes, '--behaviour', write('nocol.csv', 'time_s\n0\n1\n'), '--out', out]);
  assert.match(noColumns.err, 'expected at least one behaviour column after time_s');
  const kind = await runCli(['fit-decoder', '--spikes', spikes, '--behaviour', behaviour, '--out', out, '--kind', 'svm']);
  assert.is(kind.code, 2);
  assert.match(kind.err, '--kind: expected linear or kalman, got "svm"');
  const units = await runCli(['fit-decoder', '--spikes', spikes, '--behaviour', behaviour, '--out', out, '--units', '1,500']);
  assert.match(units.err, '--units: unit 500 has no spikes');
  const missing = await runCli(['fit-decoder', '--spikes', spikes, '--out', out]);
  assert.match(missing.err, '--behaviour <file> is required');
  const both = await runCli(['fit-decoder', '--spikes', spikes, '--recording', spikes, '--behaviour', behaviour, '--out', out]);
  assert.is(both.code, 2);
  assert.match(both.err, 'give either --spikes <file> or --recording <file>');
  const stray = await runCli(['fit-decoder', '--spikes', spikes, '--config', 'rig.yaml', '--behaviour', behaviour, '--out', out]);
  assert.match(stray.err, '--config applies to --recording only');
});

/** Rate (Hz) of one ground-truth unit, causally smoothed (exponential, τ), sampled at `times`. */
function smoothedRate(spikeTimesS: readonly number[], times: readonly number[], tauS: number): number[] {
  const out: number[] = [];
  let k = 0;
  let value = 0;
  let at = times[0];
  for (const t of times) {
    value *= Math.exp(-(t - at) / tauS);
    at = t;
    for (; k < spikeTimesS.length && spikeTimesS[k] <= t; k++) value += Math.exp(-(t - spikeTimesS[k]) / tauS) / tauS;
    out.push(value);
  }
  return out;
}

test('--recording: a simulated recording through detection and online clustering; behaviour that follows two ground-truth units is decoded, a shifted copy is not', async () => {
  const simDir = join(dir, 'sim');
  rmSync(simDir, { recursive: true, force: true });
  const sim = await runCli(['sim', '--out', simDir, '--duration', '60', '--channels', '32', '--seed', '3']);
  assert.is(sim.code, 0, sim.err);
  // Ground truth: the two most active units' spike trains.
  const rows = readFileSync(join(simDir, 'spikes.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  const trains = new Map<number, number[]>();
  for (const [unit, time] of rows) {
    const t = Number(time);
    if (t < 0) continue;
    if (!trains.has(Number(unit))) trains.set(Number(unit), []);
    trains.get(Number(unit))!.push(t);
  }
  const [a, b] = [...trains.values()].sort((x, y) => y.length - x.length);
  const times = Array.from({ length: 6000 }, (_, i) => i * 0.01);
  const x = smoothedRate(a, times, 0.1);
  const y = smoothedRate(b, times, 0.1);
  const behaviour = write('sim-behaviour.csv', `time_s,x,y\n${times.map((t, i) => `${t.toFixed(2)},${x[i]},${y[i]}`).join('\n')}\n`);
  // The control: the same signals shifted by 25 s (same statistics, no relation to the spikes).
  const shift = 2500;
  const shifted = write('sim-shifted.csv', `time_s,x,y\n${times.map((t, i) => `${t.toFixed(2)},${x[(i + shift) % x.length]},${y[(i + shift) % y.length]}`).join('\n')}\n`);
  const recording = join(simDir, 'sim_g0_t0.imec0.ap.bin');
  const out = join(dir, 'from-recording.json');
  const fit = await runCli(['fit-decoder', '--recording', recording, '--behaviour', behaviour, '--out', out, '--lags', '15', '--json']);
  assert.is(fit.code, 0, fit.err);
  assert.match(fit.err, /assigned spikes in \d+ units/);
  const summary = JSON.parse(fit.out);
  assert.ok(summary.units >= 5, `${summary.units} units`);
  assert.ok(summary.testR2.every((v: number) => v > 0.5), `held-out R² ${summary.testR2}`);
  const decoder = readDecoder(out);
  assert.is(decoder.unitIds.length, summary.units);
  assert.match(decoder.fit!.source ?? '', 'sim_g0_t0.imec0.ap.bin');
  const control = await runCli(['fit-decoder', '--recording', recording, '--behaviour', shifted, '--out', join(dir, 'control.json'), '--lags', '15', '--json']);
  assert.is(control.code, 0, control.err);
  const controlR2: number[] = JSON.parse(control.out).testR2;
  assert.ok(controlR2.every((v) => v < 0.1), `shifted behaviour: held-out R² ${controlR2}`);
});

test.run();
