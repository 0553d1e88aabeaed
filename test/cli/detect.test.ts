// optoloop detect: a simulated recording with known spikes, detected offline through the daemon's
// pipeline into the documented CSV; checked against the simulator's ground truth.
import { readFileSync, rmSync, truncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../../src/cli/main.js';
import { captureIo } from '../helpers/capture-io.js';
import { artifactDir } from '../helpers/paths.js';

const dir = artifactDir('detect-cli');
rmSync(dir, { recursive: true, force: true });
const rec = join(dir, 'rec');
const bin = join(rec, 'sim_g0_t0.imec0.ap.bin');

function parseCsv(path: string): { header: string; rows: number[][] } {
  const [header, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  return { header, rows: lines.map((l) => l.split(',').map(Number)) };
}

test('setup: a 20 s, 32-channel simulated cortex recording with ground truth', async () => {
  const io = captureIo();
  const code = await main(['sim', '--preset', 'cortex', '--probe', 'A1x32-Poly3-10mm-50-177', '--channels', '32', '--duration', '20', '--seed', '3', '--out', rec], io);
  assert.is(code, 0, io.stderr);
});

test('writes the documented header and one row per spike; columns agree with each other', async () => {
  const out = join(dir, 'spikes.csv');
  const io = captureIo();
  assert.is(await main(['detect', bin, '--out', out,], io), 0, io.stderr);
  const { header, rows } = parseCsv(out);
  assert.is(header, 'sample,time_s,channel,amplitude_uv');
  assert.ok(rows.length > 100, `${rows.length} spikes`);
  let previous = -1;
  for (const [sample, timeS, channel, amplitude] of rows) {
    assert.ok(Number.isInteger(sample) && sample >= 0 && sample < 20 * 30000);
    assert.ok(Math.abs(timeS - sample / 30000) < 1e-6);
    assert.ok(Number.isInteger(channel) && channel >= 0 && channel < 32);
    assert.ok(amplitude < 0, 'troughs are negative');
    assert.ok(sample >= previous - 30, 'rows come in stream order (within the peak window)');
    previous = Math.max(previous, sample);
  }
  assert.match(io.stdout, `${rows.length} spikes in 20.00 s of 32-channel recording`);
});

test('finds the ground-truth spikes of well-isolated units (SNR ≥ 8): recall ≥ 90 % within 0.5 ms', async () => {
  const out = join(dir, 'spikes.csv');
  const { rows } = parseCsv(out);
  const truth = JSON.parse(readFileSync(join(rec, 'ground_truth.json'), 'utf8')) as {
    units: { id: number; snr: number }[];
    spikes?: unknown;
  };
  const gt = parseCsv(join(rec, 'spikes.csv'));
  const unitCol = 0;
  const timeCol = 1;
  const strong = new Set(truth.units.filter((u) => u.snr >= 8).map((u) => u.id));
  assert.ok(strong.size >= 3, `${strong.size} strong units`);
  const detected = rows.map((r) => r[1]).sort((a, b) => a - b);
  const near = (t: number): boolean => {
    let lo = 0;
    let hi = detected.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (detected[mid] < t - 0.0005) lo = mid + 1;
      else hi = mid;
    }
    return lo < detected.length && detected[lo] <= t + 0.0005;
  };
  let total = 0;
  let found = 0;
  for (const r of gt.rows) {
    const t = r[timeCol];
    // Detection starts after the first noise window (0.5 s) and cannot report the last peak window.
    if (!strong.has(r[unitCol]) || t < 0.6 || t > 19.9) continue;
    total++;
    if (near(t)) found++;
  }
  console.log(`  detect: recall ${(100 * found / total).toFixed(1)} % of ${total} ground-truth spikes of ${strong.size} units with SNR ≥ 8; ${rows.length} detections`);
  assert.ok(total > 200, `${total} ground-truth spikes`);
  assert.ok(found / total >= 0.9, `recall ${(100 * found / total).toFixed(1)} % of ${total}`);
});

test('a truncated recording fails with an error naming the file and what was expected', async () => {
  const broken = join(dir, 'broken');
  rmSync(broken, { recursive: true, force: true });
  await main(['sim', '--channels', '32', '--probe', 'A1x32-Poly3-10mm-50-177', '--duration', '1', '--out', broken], captureIo());
  const b = join(broken, 'sim_g0_t0.imec0.ap.bin');
  truncateSync(b, statSync(b).size - 7);
  const io = captureIo();
  assert.is(await main(['detect', b, '--out', join(dir, 'x.csv')], io), 1);
  assert.match(io.stderr, /E_FILE_(TRUNCATED|MALFORMED)/);
  assert.match(io.stderr, /sim_g0_t0\.imec0\.ap\.(bin|meta)/);
});

test('usage errors exit 2', async () => {
  let io = captureIo();
  assert.is(await main(['detect', bin], io), 2);
  assert.match(io.stderr, /--out/);
  io = captureIo();
  assert.is(await main(['detect', bin, '--out', 'x.csv', '--format', 'nope'], io), 2);
  assert.match(io.stderr, /--format: expected one of/);
});

test.run();
