// Rebuilds the models optoloop ships (models/<name>/) from scratch with its own commands:
// simulate → detect → assign online → match to the simulator's ground truth → unit library →
// optoloop train. `npm run models` runs it; each step can be run alone:
//
//   node --import tsx scripts/build-models.ts library --preset cerebellum --seeds 11,12 --duration 240 [--channels 384] --out FILE
//   node --import tsx scripts/build-models.ts cerebellum   # library (seeds 11, 12; 240 s; 384 ch) + train → models/cerebellum
//   node --import tsx scripts/build-models.ts cortex       # sim cortex (seeds 21, 22; 200 s; 64 ch) + CellExplorer PV/SST/VIP cells → models/cortex
//   node --import tsx scripts/build-models.ts all
//
// The evaluation recordings (scripts/evaluate-cerebellum.ts, seed 1) are never among the training
// seeds. Libraries and logs go to test-artifacts/models/; the models to models/<name>/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LibraryUnitInput } from '../src/classify/library.js';
import { validateLibrary } from '../src/classify/library.js';
import { simulatedLibrary } from '../src/classify/eval/sim-library.js';
import { main } from '../src/cli/main.js';
import { packageRoot } from '../src/core/package-root.js';
import { convertGroundTruth, defaultGroundTruthFolder } from './cellexplorer-library.js';
import { isScriptMain } from './script-main.js';

const work = join(packageRoot(), 'test-artifacts', 'models');

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

export async function buildSimLibrary(preset: 'cerebellum' | 'cortex', seeds: readonly number[], durationS: number, channels = 384): Promise<LibraryUnitInput[]> {
  const units: LibraryUnitInput[] = [];
  for (const seed of seeds) {
    const started = performance.now();
    const r = await simulatedLibrary({ preset, seed, durationS, channels, progress: (d, t) => process.stderr.write(`\r${preset} seed ${seed}: ${d.toFixed(0)} / ${t} s`) });
    process.stderr.write('\n');
    const counts = new Map<string, number>();
    for (const u of r.units) counts.set(u.label, (counts.get(u.label) ?? 0) + 1);
    log(`${preset} seed ${seed}: ${r.units.length} library units (${[...counts].map(([l, n]) => `${l} ${n}`).join(', ')}); assignment accuracy ${(100 * r.score.accuracy).toFixed(2)} %; ${((performance.now() - started) / 1000).toFixed(0)} s`);
    units.push(...r.units);
  }
  return units;
}

function writeLibrary(path: string, units: LibraryUnitInput[]): void {
  mkdirSync(work, { recursive: true });
  writeFileSync(path, `${JSON.stringify(validateLibrary({ units }, path))}\n`);
  log(`wrote ${path} (${units.length} units)`);
}

async function train(args: string[]): Promise<void> {
  const io = { out: (t: string) => process.stdout.write(t), err: (t: string) => process.stderr.write(t), isTty: false, interrupted: new Promise<void>(() => {}) };
  const code = await main(['train', ...args], io);
  if (code !== 0) throw new Error(`optoloop train ${args.join(' ')} exited ${code}`);
}

export async function buildCerebellum(durationS = 240): Promise<void> {
  const library = join(work, 'cerebellum-library.json');
  writeLibrary(library, await buildSimLibrary('cerebellum', [11, 12], durationS));
  await train(['--library', library, '--out', join(packageRoot(), 'models', 'cerebellum'), '--name', 'cerebellum', '--classes', 'PkC_ss,PkC_cs,MLI,GoC,MFB', '--inputs', 'waveform,acg3d', '--seed', '1', '--folds', '0', '--epochs', '12', '--members', '3', '--quiet',
    '--description', 'C4 cerebellar classes, trained on the simulator cerebellum preset (seeds 11 and 12, 240 s, 384 ch) through detection and online clustering']);
}

export async function buildCortex(durationS = 200): Promise<void> {
  const library = join(work, 'cortex-library.json');
  // 64 channels (32 units per recording) keep the rebuild short; the per-unit features do not depend on the probe size.
  const sim = await buildSimLibrary('cortex', [21, 22], durationS, 64);
  const real = convertGroundTruth({ dataFolder: defaultGroundTruthFolder() }).filter((u) => ['PV', 'SST', 'VIP'].includes(u.label) && u.spikeTimesS.length >= 100);
  log(`CellExplorer cells added: ${real.length} (PV, SST, VIP with spike trains; the pyramidal cells have none stored)`);
  writeLibrary(library, [...sim, ...real]);
  await train(['--library', library, '--out', join(packageRoot(), 'models', 'cortex'), '--name', 'cortex', '--classes', 'pyramidal,PV,SST,VIP', '--inputs', 'waveform,acg3d', '--waveform-window=-0.65:0.75', '--seed', '1', '--folds', '5', '--epochs', '30', '--members', '5', '--quiet',
    '--description', 'Cortical classes, trained on the simulator cortex preset (seeds 21 and 22, 200 s, 64 ch) and the CellExplorer ground-truth PV/SST/VIP cells; waveforms cut to −0.65…+0.75 ms (the real cells’ common window)']);
}

if (isScriptMain(import.meta.url)) {
  const [what, ...rest] = process.argv.slice(2);
  const value = (flag: string) => {
    const i = rest.indexOf(flag);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  const duration = value('--duration') ? Number(value('--duration')) : undefined;
  if (what === 'library') {
    const preset = (value('--preset') ?? 'cerebellum') as 'cerebellum' | 'cortex';
    const seeds = (value('--seeds') ?? '11').split(',').map(Number);
    const channels = value('--channels') ? Number(value('--channels')) : 384;
    writeLibrary(value('--out') ?? join(work, `${preset}-library.json`), await buildSimLibrary(preset, seeds, duration ?? 240, channels));
  } else if (what === 'cerebellum') await buildCerebellum(duration);
  else if (what === 'cortex') await buildCortex(duration);
  else if (what === 'all' || what === undefined) {
    await buildCerebellum(duration);
    await buildCortex(duration);
  } else {
    console.error('usage: build-models.ts [all | cerebellum | cortex | library --preset P --seeds A,B --duration S --out FILE]');
    process.exit(2);
  }
}
