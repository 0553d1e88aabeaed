// The cortex preset's types separate the way real ones do: trough-to-peak measured on the generated
// recording (mean of the peak channel at the ground-truth spike times, after a zero-phase 2nd-order
// Butterworth 300–6000 Hz band-pass) is ≤ 0.425 ms (CellExplorer's narrow boundary) for PV units
// and above it for pyramidal units, and each type's measured values sit inside the real cells'
// range (CellExplorer ground truth, shared/data/cellexplorer-groundtruth/cells.json).
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bandpassZeroPhase, meanWaveform, troughToPeakMs, trainStats } from '../../sim/analysis.js';
import { createSimulation } from '../../sim/simulation.js';
import { recordChannels } from '../helpers/sim.js';
import { sharedData } from '../helpers/paths.js';

const SECONDS = 30;
const sim = createSimulation({ preset: 'cortex', channels: 384, units: 120, seed: 11 });
const rate = sim.options.sampleRateHz;
const units = sim.units.filter((u) => !u.background);
const data = recordChannels(sim, SECONDS, units.map((u) => u.peakChannel));
const filtered = new Map([...data].map(([c, x]) => [c, bandpassZeroPhase(x, 300, 6000, rate)]));
const measured = units.map((u) => {
  const spikes = sim.generator.groundTruth.spikesOf(u.id);
  return { unit: u, spikes, ttpMs: troughToPeakMs(meanWaveform(filtered.get(u.peakChannel)!, spikes, 30, 60), rate) };
});
const ofType = (t: string) => measured.filter((m) => m.unit.type === t && m.spikes.length >= 20);

interface RealCell {
  groundTruth: string[];
  troughToPeak_ms: number | null;
  firingRate_Hz: number | null;
  waveform_time_ms: number[];
  waveform_filt_uV: number[];
  acg_narrow: number[] | null;
}
const real = (JSON.parse(readFileSync(sharedData('cellexplorer-groundtruth', 'cells.json'), 'utf8')) as { cells: RealCell[] }).cells;
const realRange = (label: string, key: 'troughToPeak_ms' | 'firingRate_Hz') => {
  const v = real.filter((c) => c.groundTruth.includes(label) && c[key] !== null).map((c) => c[key] as number);
  return [Math.min(...v), Math.max(...v)];
};

test('PV units are narrow (≤ 0.425 ms) and pyramidal units broad (> 0.425 ms) in ≥ 90 % of units', () => {
  const pv = ofType('PV');
  const pyr = ofType('pyramidal');
  assert.ok(pv.length >= 10 && pyr.length >= 30, `enough units: ${pv.length} PV, ${pyr.length} pyramidal`);
  const pvNarrow = pv.filter((m) => m.ttpMs <= 0.425).length / pv.length;
  const pyrBroad = pyr.filter((m) => m.ttpMs > 0.425).length / pyr.length;
  console.log(`  PV narrow ${(100 * pvNarrow).toFixed(0)} % of ${pv.length}; pyramidal broad ${(100 * pyrBroad).toFixed(0)} % of ${pyr.length}`);
  assert.ok(pvNarrow >= 0.9, `PV narrow fraction ${pvNarrow}`);
  assert.ok(pyrBroad >= 0.9, `pyramidal broad fraction ${pyrBroad}`);
});

test('measured trough-to-peak of each type lies within the real cells’ range (± 0.06 ms)', () => {
  const labels: Record<string, string> = { PV: 'PV', pyramidal: 'Pyramidal', SST: 'SST', VIP: 'VIP' };
  for (const [type, label] of Object.entries(labels)) {
    const [lo, hi] = realRange(label, 'troughToPeak_ms');
    const values = ofType(type).map((m) => m.ttpMs);
    assert.ok(values.length > 0, `${type}: units`);
    const inside = values.filter((v) => v >= lo - 0.06 && v <= hi + 0.06).length / values.length;
    console.log(`  ${type}: measured ${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)} ms, real ${lo}–${hi} ms, ${(100 * inside).toFixed(0)} % inside`);
    assert.ok(inside >= 0.9, `${type}: ${inside}`);
  }
});

test('measured firing rates of each type lie within the real cells’ range', () => {
  const labels: Record<string, string> = { PV: 'PV', pyramidal: 'Pyramidal', SST: 'SST', VIP: 'VIP' };
  for (const [type, label] of Object.entries(labels)) {
    const [lo, hi] = realRange(label, 'firingRate_Hz');
    const rates = measured.filter((m) => m.unit.type === type).map((m) => trainStats(m.spikes, rate, SECONDS).rateHz);
    const inside = rates.filter((r) => r >= lo * 0.5 && r <= hi * 1.5).length / rates.length;
    console.log(`  ${type}: measured ${Math.min(...rates).toFixed(1)}–${Math.max(...rates).toFixed(1)} Hz, real ${lo.toFixed(1)}–${hi.toFixed(1)} Hz`);
    assert.ok(inside >= 0.9, `${type}: ${inside} inside ×0.5…×1.5 of the real range`);
  }
});

/** −0.5 … +1.2 ms around the trough at 30 kHz. */
const GRID_MS = Array.from({ length: 52 }, (_, i) => -0.5 + i / 30);

/** A waveform resampled (linear) onto GRID_MS around its trough, trough scaled to −1; NaN outside its span. */
function onGrid(timeMs: ArrayLike<number>, w: ArrayLike<number>): number[] {
  let m = 0;
  for (let i = 1; i < w.length; i++) if (w[i] < w[m]) m = i;
  return GRID_MS.map((g) => {
    const x = g + timeMs[m];
    if (x <= timeMs[0] || x >= timeMs[timeMs.length - 1]) return NaN;
    let j = 1;
    while (timeMs[j] < x) j++;
    const f = (x - timeMs[j - 1]) / (timeMs[j] - timeMs[j - 1]);
    return (w[j - 1] + f * (w[j] - w[j - 1])) / -w[m];
  });
}

function medianRow(rows: number[][]): number[] {
  return GRID_MS.map((_, i) => {
    const v = rows.map((r) => r[i]).filter((x) => x === x).sort((a, b) => a - b);
    return v.length ? v[Math.floor(v.length / 2)] : NaN;
  });
}

function correlation(a: number[], b: number[]): number {
  const idx = a.map((_, i) => i).filter((i) => a[i] === a[i] && b[i] === b[i]);
  const ma = idx.reduce((s, i) => s + a[i], 0) / idx.length;
  const mb = idx.reduce((s, i) => s + b[i], 0) / idx.length;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (const i of idx) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

test('each type’s median waveform correlates (r ≥ 0.9) with the real cells’ median filtered waveform', () => {
  // CellExplorer's waveform_filt_uV is high-passed at 500 Hz; filter ours the same way.
  const labels: Record<string, string> = { PV: 'PV', pyramidal: 'Pyramidal', SST: 'SST', VIP: 'VIP' };
  for (const [type, label] of Object.entries(labels)) {
    const realMedian = medianRow(real.filter((c) => c.groundTruth.includes(label)).map((c) => onGrid(c.waveform_time_ms, c.waveform_filt_uV)));
    const oursMedian = medianRow(
      ofType(type).map((m) => {
        const w = meanWaveform(bandpassZeroPhase(data.get(m.unit.peakChannel)!, 500, 6000, rate), m.spikes, 30, 60);
        return onGrid(Array.from(w, (_, i) => ((i - 30) * 1000) / rate), w);
      }),
    );
    const r = correlation(realMedian, oursMedian);
    console.log(`  ${type}: r = ${r.toFixed(3)} with the median of the real ${label} cells`);
    assert.ok(r >= 0.9, `${type}: r = ${r}`);
  }
});

/** Autocorrelogram at lags 0.5…50 ms in 0.5 ms bins (CellExplorer's acg_narrow positive half), / its 30–50 ms mean. */
function normalisedAcg(spikes: Float64Array): number[] {
  const bins = new Array<number>(100).fill(0);
  const width = 0.0005 * rate;
  for (let i = 0; i < spikes.length; i++) {
    for (let j = i + 1; j < spikes.length; j++) {
      const b = Math.floor((spikes[j] - spikes[i]) / width);
      if (b >= 100) break;
      bins[b]++;
    }
  }
  const tail = bins.slice(60).reduce((x, y) => x + y, 0) / 40;
  return bins.map((x) => x / (tail || 1));
}

test('each type’s median ACG (0.5–50 ms) correlates (r ≥ 0.8) with the real cells’ median ACG', () => {
  // Long spike trains of a separate, small simulation (32 channels, no background): ACGs of units
  // firing a few Hz need minutes of data.
  const long = createSimulation({ preset: 'cortex', channels: 32, units: 160, seed: 12, backgroundPerChannel: 0 });
  const chunk = new Int16Array(rate * 32);
  for (let s = 0; s < 600; s++) long.generator.generate(chunk, rate);
  const labels: Record<string, string> = { PV: 'PV', pyramidal: 'Pyramidal', SST: 'SST', VIP: 'VIP' };
  const median = (rows: number[][]) => rows[0].map((_, i) => rows.map((r) => r[i]).sort((a, b) => a - b)[Math.floor(rows.length / 2)]);
  for (const [type, label] of Object.entries(labels)) {
    // CellExplorer's acg_narrow: 201 bins, −50…50 ms at 0.5 ms; bins 101…200 are lags 0.5…50 ms.
    const realRows = real.filter((c) => c.groundTruth.includes(label) && c.acg_narrow).map((c) => {
      const half = c.acg_narrow!.slice(101, 201);
      const tail = half.slice(60).reduce((x, y) => x + y, 0) / 40;
      return half.map((x) => x / (tail || 1));
    });
    const ours = long.units.filter((u) => u.type === type).map((u) => normalisedAcg(long.generator.groundTruth.spikesOf(u.id)));
    const r = correlation(median(realRows), median(ours));
    console.log(`  ${type}: ACG r = ${r.toFixed(3)} (${ours.length} units × 600 s vs ${realRows.length} real cells)`);
    assert.ok(r >= 0.8, `${type}: r = ${r}`);
  }
});

test('pyramidal cells burst (ISIs < 6 ms) more than PV cells', () => {
  const burst = (type: string) => {
    const f = measured.filter((m) => m.unit.type === type && m.spikes.length > 30).map((m) => trainStats(m.spikes, rate, SECONDS, 6).burstFraction);
    return f.reduce((s, x) => s + x, 0) / f.length;
  };
  const pyr = burst('pyramidal');
  const pv = burst('PV');
  console.log(`  fraction of ISIs < 6 ms: pyramidal ${pyr.toFixed(3)}, PV ${pv.toFixed(3)}`);
  assert.ok(pyr > 0.05, `pyramidal ${pyr}`);
  assert.ok(pyr > 1.5 * pv, `PV ${pv}`);
});

test('no unit violates its refractory period', () => {
  for (const m of measured) {
    if (m.spikes.length < 2) continue;
    assert.ok(trainStats(m.spikes, rate, SECONDS).minIsiMs >= m.unit.firing.refractoryMs - 1000 / rate, `unit ${m.unit.id}`);
  }
});

test.run();
