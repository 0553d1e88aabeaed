// Converts the CellExplorer ground-truth cells (../shared/data/cellexplorer-groundtruth, format in
// its PROVENANCE.md) into optoloop's unit library format (src/classify/library.ts), for
// `optoloop train` and `optoloop classify --library`.
//
//   node --import tsx scripts/cellexplorer-library.ts [--data <folder>] [--out <file>] [--max-spikes N]
//
// Per cell: id "<session>/<index>", label from groundTruth (PV+VGAT → PV: parvalbumin cells are
// GABAergic, so the VGAT tag adds nothing; Pyramidal → pyramidal, the simulator's name), the
// peak-channel mean filtered waveform with its sample rate taken from the cell's own time axis
// (20, 30 or 10 kHz) and waveformPeakIndex at t = 0, and the first --max-spikes spike times
// (default 20000, the live 3D-ACG's limit; the 9 pyramidal cells have none stored). Duplicate spike
// times (delta 0 in the source) are kept: they are the recording's. Layer: null (not given).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LibraryUnitInput } from '../src/classify/library.js';
import { validateLibrary } from '../src/classify/library.js';
import { packageRoot } from '../src/core/package-root.js';
import { loadGroundTruth, type GroundTruthCell } from '../src/io/cellexplorer-groundtruth.js';
import { isScriptMain } from './script-main.js';

export interface ConvertOptions {
  readonly dataFolder: string;
  readonly maxSpikes?: number;
}

export function labelOf(cell: GroundTruthCell): string {
  const labels = [...cell.labels];
  if (labels.includes('PV')) return 'PV';
  if (labels.length === 1 && labels[0] === 'Pyramidal') return 'pyramidal';
  return labels.join('+');
}

export function cellToUnit(cell: GroundTruthCell, maxSpikes: number): LibraryUnitInput {
  const t = cell.waveformTimeMs;
  const stepMs = (t[t.length - 1] - t[0]) / (t.length - 1);
  let peak = 0;
  for (let i = 1; i < t.length; i++) if (Math.abs(t[i]) < Math.abs(t[peak])) peak = i;
  const spikes = cell.spikeTimesS ? Array.from(cell.spikeTimesS.subarray(0, maxSpikes)) : [];
  return {
    id: `${cell.session}/${cell.index}`,
    label: labelOf(cell),
    waveformUv: [...cell.waveformUv],
    waveformSampleRateHz: Math.round(1000 / stepMs),
    waveformPeakIndex: peak,
    spikeTimesS: spikes,
    layer: null,
    source: `cellexplorer-groundtruth (${cell.labels.join('+')}, ${cell.brainRegion || 'region unknown'})`,
  };
}

/** ../shared/data/cellexplorer-groundtruth beside the checkout (the main one, or a worktree's). */
export function defaultGroundTruthFolder(): string {
  const candidates = [join(packageRoot(), '..', 'shared', 'data', 'cellexplorer-groundtruth'), join(packageRoot(), '..', '..', 'shared', 'data', 'cellexplorer-groundtruth')];
  return candidates.find((c) => existsSync(c)) ?? candidates[0];
}

export function convertGroundTruth(options: ConvertOptions): LibraryUnitInput[] {
  const set = loadGroundTruth(options.dataFolder);
  return set.cells.map((c) => cellToUnit(c, options.maxSpikes ?? 20000));
}

if (isScriptMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const dataFolder = value('--data') ?? defaultGroundTruthFolder();
  const out = value('--out') ?? join(packageRoot(), 'test-artifacts', 'cellexplorer-library.json');
  const units = convertGroundTruth({ dataFolder, maxSpikes: value('--max-spikes') ? Number(value('--max-spikes')) : undefined });
  const library = validateLibrary({ units }, out);
  writeFileSync(out, `${JSON.stringify(library)}\n`);
  const counts = new Map<string, number>();
  for (const u of library.units) counts.set(u.label, (counts.get(u.label) ?? 0) + 1);
  console.log(`${out}: ${library.units.length} units (${[...counts].map(([l, n]) => `${l} ${n}`).join(', ')})`);
}
