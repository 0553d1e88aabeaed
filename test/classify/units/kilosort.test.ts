import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KilosortAssigner, type KilosortAssignerOptions } from '../../../src/classify/units/kilosort-assigner.js';
import { readClusterGroups, readKilosortFolder } from '../../../src/classify/units/kilosort-folder.js';
import { writeNpy } from '../../../src/io/npy.js';
import { expectOptoloopError } from '../../helpers/expect-error.js';
import { artifactDir } from '../../helpers/paths.js';
import { seededRandom } from '../../helpers/seeded.js';
import { RATE_HZ, addSpike, allocateSnippets, makeUnit, shortSnippets, twoColumnLayout, unitWaveform, worldHoods, type WorldUnit } from '../../helpers/snippet-world.js';

const layout = twoColumnLayout(32);
const hoods = worldHoods(layout);
// Five units: 0 and 1 share a place but differ in width; 2 is a second template of cluster 1's
// neighbour merged in phy; 3 is noise; 4 is never in the folder.
const units: WorldUnit[] = [
  makeUnit(layout, 0, 10, 100, 120, 0.3),
  makeUnit(layout, 1, 10, 100, 120, 0.8),
  makeUnit(layout, 2, 20, 200, 90, 0.5),
  makeUnit(layout, 3, 0, 260, 60, 0.2),
  makeUnit(layout, 4, 20, 40, 100, 0.45),
];
const NT = 61;
const ALIGN = 20;
const WHITEN = 2.5; // the folder's whitening: W = 2.5·I, W⁻¹ = 0.4·I

/**
 * Writes a phy folder for units 0–3: templates (whitened, 61 samples, trough at 20) on a
 * channel map that is reversed relative to the columns, spike_templates, spike_clusters (template 2
 * and a second template of unit 2 merged into cluster 7), cluster_group.tsv (cluster 3 noise).
 */
function writeFolder(dir: string, options: { whitening?: boolean } = {}): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const nCols = layout.channelCount;
  const channelMap = Int32Array.from({ length: nCols }, (_, c) => nCols - 1 - c);
  const positions = new Float64Array(nCols * 2);
  for (let c = 0; c < nCols; c++) {
    positions[2 * c] = layout.xUm[channelMap[c]];
    positions[2 * c + 1] = layout.yUm[channelMap[c]];
  }
  const templateUnits = [units[0], units[1], units[2], units[2], units[3]];
  const scales = [1, 1, 1, 0.7, 1]; // Kilosort templates have arbitrary scale
  const templates = new Float32Array(templateUnits.length * NT * nCols);
  const w = options.whitening === false ? 1 : WHITEN;
  templateUnits.forEach((u, t) => {
    for (let i = 0; i < NT; i++) {
      const v = unitWaveform(((i - ALIGN) * 1000) / RATE_HZ, u.widthMs);
      for (let c = 0; c < nCols; c++) templates[(t * NT + i) * nCols + c] = (scales[t] * v * u.footprintUv[channelMap[c]] * w) / 100;
    }
  });
  writeNpy(join(dir, 'templates.npy'), templates, [templateUnits.length, NT, nCols]);
  writeNpy(join(dir, 'channel_map.npy'), channelMap, [nCols]);
  writeNpy(join(dir, 'channel_positions.npy'), positions, [nCols, 2]);
  const spikeTemplates = new Int32Array([0, 0, 0, 1, 1, 2, 2, 3, 3, 3, 4, 4]);
  writeNpy(join(dir, 'spike_templates.npy'), spikeTemplates, [spikeTemplates.length, 1]);
  writeNpy(join(dir, 'spike_clusters.npy'), new Int32Array([0, 0, 0, 1, 1, 7, 7, 7, 7, 7, 3, 3]), [12]);
  if (options.whitening !== false) {
    const winv = new Float64Array(nCols * nCols);
    for (let c = 0; c < nCols; c++) winv[c * nCols + c] = 1 / WHITEN;
    writeNpy(join(dir, 'whitening_mat_inv.npy'), winv, [nCols, nCols]);
  }
  writeFileSync(join(dir, 'cluster_group.tsv'), 'cluster_id\tgroup\n0\tgood\n1\tgood\n7\tmua\n3\tnoise\n');
  writeFileSync(join(dir, 'params.py'), `dat_path = 'x.bin'\nn_channels_dat = ${nCols}\ndtype = 'int16'\noffset = 0\nsample_rate = ${RATE_HZ}.\nhp_filtered = False\n`);
}

const OPTIONS: KilosortAssignerOptions = {
  candidateRadiusUm: 80,
  windowBeforeMs: 1 / 3,
  windowAfterMs: 0.8,
  maxShiftSamples: 1,
  maxExcessSigma: 6,
  maxTemplateError: 0.1,
  maxSnippetRows: hoods.maxSize,
  sampleRateHz: RATE_HZ,
};

test('the folder reader: channel map applied, whitening undone, merged and noise clusters mapped', () => {
  const dir = join(artifactDir('kilosort'), 'phy');
  writeFolder(dir);
  const folder = readKilosortFolder(dir);
  assert.is(folder.whitened, true);
  assert.is(folder.sampleRateHz, RATE_HZ);
  assert.equal([...folder.units.entries()].sort((a, b) => a[0] - b[0]), [[0, 'good'], [1, 'good'], [7, 'mua']]);
  assert.equal(folder.excludedNoiseClusters, [3]);
  assert.equal(folder.templates.map((t) => t.unitId), [0, 1, 7, 7, -1]);
  const t0 = folder.templates[0];
  // The peak channel in recording channels (the map reversed the columns), the trough at 20.
  assert.is(t0.peakChannel, units[0].peakChannel);
  assert.is(t0.channels[0], units[0].peakChannel);
  assert.is(t0.alignIndex, ALIGN);
  // Unwhitened: the whitened value × W⁻¹ = the footprint-scaled waveform / 100.
  const expected = (unitWaveform(0, units[0].widthMs) * units[0].footprintUv[units[0].peakChannel]) / 100;
  assert.ok(Math.abs(t0.waveforms[ALIGN] - expected) < 1e-5, `${t0.waveforms[ALIGN]} vs ${expected}`);
  assert.is(t0.spikeCount, 3);
  assert.equal(readClusterGroups(join(dir, 'cluster_group.tsv')).get(3), 'noise');
});

test('template matching assigns spikes of known units, −1 to noise-cluster spikes and to a unit without a template', () => {
  const dir = join(artifactDir('kilosort'), 'phy-match');
  writeFolder(dir);
  const assigner = new KilosortAssigner(readKilosortFolder(dir), layout, OPTIONS);
  assert.equal(assigner.unitIds(), [0, 1, 7]);
  const random = seededRandom(4);
  const noiseUv = new Float32Array(layout.channelCount).fill(8);
  const batch = allocateSnippets(hoods, 600);
  const truth: number[] = [];
  for (let i = 0; i < 600; i++) {
    const u = units[i % 5];
    // Amplitude varies ±20 % and the trough sits up to ±0.5 samples off the grid.
    addSpike(batch, hoods, u, i * 100, 8, random, 0.8 + 0.4 * random(), random() - 0.5);
    truth.push([0, 1, 7, -1, -1][u.id]);
  }
  assigner.assign(batch, noiseUv);
  const confusion = new Map<string, number>();
  let correct = 0;
  for (let k = 0; k < batch.count; k++) {
    const key = `${truth[k]}→${batch.unitId[k]}`;
    confusion.set(key, (confusion.get(key) ?? 0) + 1);
    if (batch.unitId[k] === truth[k]) correct++;
  }
  assert.ok(correct >= 0.98 * batch.count, `correct ${correct}/${batch.count}: ${JSON.stringify([...confusion])}`);
  // Units 0 and 1 share their footprint; only the shape tells them apart.
  assert.is(confusion.get('0→1') ?? 0, 0);
  assert.is(confusion.get('1→0') ?? 0, 0);

  // Early identification: the same spikes cut 12 samples after the trough, matched over the window
  // that fits them; the templates' own ids, and nothing changed for the full match.
  const early = shortSnippets(batch, 12);
  assigner.identifyEarly(early, noiseUv);
  let earlyCorrect = 0;
  let earlyOther = 0;
  for (let k = 0; k < early.count; k++) {
    if (early.unitId[k] === truth[k]) earlyCorrect++;
    else if (early.unitId[k] >= 0) earlyOther++;
  }
  assert.ok(earlyCorrect >= 0.9 * early.count, `early: correct ${earlyCorrect}/${early.count}`);
  assert.ok(earlyOther <= 0.02 * early.count, `early: another unit for ${earlyOther}/${early.count}`);
  const again = Int32Array.from(batch.unitId.subarray(0, batch.count));
  assigner.assign(batch, noiseUv);
  assert.equal(Array.from(batch.unitId.subarray(0, batch.count)), Array.from(again));
});

test('a folder without whitening and without spike_clusters: each template is its own unit', () => {
  const dir = join(artifactDir('kilosort'), 'phy-plain');
  writeFolder(dir, { whitening: false });
  rmSync(join(dir, 'spike_clusters.npy'));
  writeFileSync(join(dir, 'cluster_group.tsv'), 'cluster_id\tgroup\n4\tnoise\n');
  const folder = readKilosortFolder(dir);
  assert.is(folder.whitened, false);
  assert.equal(folder.templates.map((t) => t.unitId), [0, 1, 2, 3, -1]);
});

test('bad folders: a missing file, a wrong shape, a channel map too wide for the stream, a rate mismatch', () => {
  const dir = join(artifactDir('kilosort'), 'phy-bad');
  writeFolder(dir);
  rmSync(join(dir, 'spike_templates.npy'));
  expectOptoloopError(() => readKilosortFolder(dir), 'E_FILE_NOT_FOUND', /spike_templates\.npy: missing/);
  writeFolder(dir);
  writeNpy(join(dir, 'channel_map.npy'), new Int32Array(5), [5]);
  expectOptoloopError(() => readKilosortFolder(dir), 'E_FILE_MALFORMED', /channel_map\.npy: expected 32 channels/);
  writeFolder(dir);
  rmSync(join(dir, 'spike_clusters.npy'));
  writeNpy(join(dir, 'spike_templates.npy'), new Int32Array([0, 9]), [2]);
  expectOptoloopError(() => readKilosortFolder(dir), 'E_FILE_MALFORMED', /spike 1: expected a template index 0…4, got 9/);
  writeFolder(dir);
  writeFileSync(join(dir, 'cluster_group.tsv'), 'id group\n');
  expectOptoloopError(() => readKilosortFolder(dir), 'E_FILE_MALFORMED', /cluster_group\.tsv: line 1: expected a header with cluster_id and group/);
  writeFolder(dir);
  expectOptoloopError(() => new KilosortAssigner(readKilosortFolder(dir), twoColumnLayout(16), OPTIONS), 'E_OPTIONS_INVALID', /the templates use channel \d+ but the stream has 16 channels/);
  expectOptoloopError(() => new KilosortAssigner(readKilosortFolder(dir), layout, { ...OPTIONS, sampleRateHz: 25000 }), 'E_OPTIONS_INVALID', /sample_rate is 30000 Hz but the stream runs at 25000 Hz/);
});

test.run();
