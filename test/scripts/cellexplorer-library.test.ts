// The CellExplorer ground truth as a unit library: counts and labels from the data's PROVENANCE.md
// (106 cells: PV 13 + 2 PV+VGAT, SST 11, VIP 10, Pyramidal 9 without spike trains, …), waveform
// sample rates from each cell's own time axis, and the rule used beside the classifier.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cellExplorerRule } from '../../scripts/evaluate-cellexplorer.js';
import { convertGroundTruth } from '../../scripts/cellexplorer-library.js';
import { validateLibrary } from '../../src/classify/library.js';
import { sharedData } from '../helpers/paths.js';

const units = validateLibrary({ units: convertGroundTruth({ dataFolder: sharedData('cellexplorer-groundtruth'), maxSpikes: 500 }) }, 'cellexplorer').units;

test('106 cells with the provenance counts per label; PV+VGAT counted as PV', () => {
  assert.is(units.length, 106);
  const count = (label: string) => units.filter((u) => u.label === label).length;
  assert.is(count('PV'), 15);
  assert.is(count('SST'), 11);
  assert.is(count('VIP'), 10);
  assert.is(count('pyramidal'), 9);
  assert.is(count('Axo_Axonic'), 35);
  assert.ok(units.filter((u) => u.label === 'pyramidal').every((u) => u.spikeTimesS.length === 0), 'the pyramidal cells have no stored spikes');
});

test('waveform rates from the time axes (20 kHz Buzsáki lab, 30 kHz Allen), the peak index at t = 0, spikes capped', () => {
  const allen = units.find((u) => u.label === 'SST')!;
  assert.is(allen.waveformSampleRateHz, 30000);
  assert.is(allen.waveformUv.length, 82);
  assert.is(allen.waveformPeakIndex, 20);
  const pv = units.find((u) => u.id.startsWith('20160225/'))!;
  assert.is(pv.waveformSampleRateHz, 20000);
  assert.is(pv.waveformPeakIndex, 16);
  assert.ok(units.every((u) => u.spikeTimesS.length <= 500));
});

test('CellExplorer rule: narrow ≤ 0.425 ms → PV; wide with τ_rise > 6 ms → SST; otherwise pyramidal', () => {
  assert.is(cellExplorerRule({ troughToPeakMs: 0.425, tauRiseMs: 10 }), 'PV');
  assert.is(cellExplorerRule({ troughToPeakMs: 0.43, tauRiseMs: 6.5 }), 'SST');
  assert.is(cellExplorerRule({ troughToPeakMs: 0.7, tauRiseMs: 6 }), 'pyramidal');
  assert.is(cellExplorerRule({ troughToPeakMs: null, tauRiseMs: 9 }), 'pyramidal');
});

test.run();
