// A simulated optotagging session through the daemon, scored against the simulator's ground truth
// (issue 6): the cortex preset with the opsin in PV cells, the daemon's whole live path (detection,
// online clustering, the optotag session, the safety governor, the simulated light), once with the
// adaptive stop and once with the fixed protocol (maxPulses), same seed. Definitions in
// src/daemon/optotag-sim.ts.
//
//   node --import tsx scripts/evaluate-optotag.ts [--channels 384] [--seed 1] [--max-pulses 300] [--interval-ms 1000]
//       [--jitter-ms 200] [--min-spikes 50] [--library FILE] [--only adaptive|fixed] [--out FILE]
//       [--pipeline '{"detect":{"refractoryMs":0.5}}'] [--classifier '{"clustering":{"resolveOverlaps":false}}']
//       [--optotag '{"stopping":{"noResponseMinSaltP":0.5}}']
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { packageRoot } from '../src/core/package-root.js';
import { MemoryLog } from '../src/daemon/log.js';
import { formatOptotagSimReport, runOptotagSim, type OptotagSimReport } from '../src/daemon/optotag-sim.js';
import { isScriptMain } from './script-main.js';

export async function evaluateOptotag(options: {
  channels: number;
  seed: number;
  maxPulses: number;
  intervalMs: number;
  jitterMs: number;
  minSpikes: number;
  library: string;
  only?: 'adaptive' | 'fixed';
  /** Extra `pipeline` config (e.g. detect settings), merged over the defaults. */
  pipeline?: Record<string, unknown>;
  /** Extra `classifier` config (e.g. clustering settings), merged over the defaults. */
  classifier?: Record<string, unknown>;
  /** Extra `optotag` config (criteria, stopping, analysis), merged over the session's. */
  optotag?: Record<string, unknown>;
  log?: (line: string) => void;
}): Promise<{ text: string; reports: OptotagSimReport[] }> {
  const reports: OptotagSimReport[] = [];
  const lines = [
    `optotagging through the daemon on the simulator: cortex preset, ${options.channels} channels, seed ${options.seed}, opsin in PV; 5 ms pulses every ${options.intervalMs} ± ${options.jitterMs} ms, maxPulses ${options.maxPulses}; matching ±0.5 ms / 60 µm, majority mapping, purity ≥ 80 %, ≥ ${options.minSpikes} spikes`,
  ];
  for (const adaptive of [true, false]) {
    if (options.only && options.only !== (adaptive ? 'adaptive' : 'fixed')) continue;
    const log = new MemoryLog();
    const r = await runOptotagSim({
      channels: options.channels,
      seed: options.seed,
      opsin: ['PV'],
      adaptive,
      maxPulses: options.maxPulses,
      intervalMs: options.intervalMs,
      intervalJitterMs: options.jitterMs,
      library: adaptive ? options.library : null,
      minSpikes: options.minSpikes,
      pipeline: options.pipeline,
      classifier: options.classifier,
      optotag: options.optotag,
      log,
    });
    reports.push(r);
    const text = formatOptotagSimReport(r, options.minSpikes, 0.8);
    options.log?.(text);
    lines.push(text);
    const appended = log.text().split('\n').find((l) => l.includes('appended to'));
    if (appended) lines.push(`  library: ${appended.replace(/^.*optotag: /, '')}`);
  }
  const a = reports.find((r) => r.adaptive);
  const f = reports.find((r) => !r.adaptive);
  if (a && f) lines.push(`pulses: adaptive ${a.result.pulsesDelivered} vs fixed ${f.result.pulsesDelivered} (${((100 * a.result.pulsesDelivered) / f.result.pulsesDelivered).toFixed(0)} %)`);
  return { text: lines.join('\n'), reports };
}

if (isScriptMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const library = value('--library') ?? join(packageRoot(), 'test-artifacts', 'evaluate-optotag', 'library.json');
  mkdirSync(dirname(library), { recursive: true });
  if (!value('--library')) rmSync(library, { force: true });
  const { text } = await evaluateOptotag({
    channels: Number(value('--channels') ?? 384),
    seed: Number(value('--seed') ?? 1),
    maxPulses: Number(value('--max-pulses') ?? 300),
    intervalMs: Number(value('--interval-ms') ?? 1000),
    jitterMs: Number(value('--jitter-ms') ?? 200),
    minSpikes: Number(value('--min-spikes') ?? 50),
    library,
    only: value('--only') as 'adaptive' | 'fixed' | undefined,
    pipeline: value('--pipeline') ? (JSON.parse(value('--pipeline')!) as Record<string, unknown>) : undefined,
    classifier: value('--classifier') ? (JSON.parse(value('--classifier')!) as Record<string, unknown>) : undefined,
    optotag: value('--optotag') ? (JSON.parse(value('--optotag')!) as Record<string, unknown>) : undefined,
    log: (l) => process.stderr.write(`${l}\n`),
  });
  console.log(text);
  const out = value('--out') ?? join(packageRoot(), 'test-artifacts', 'evaluate-optotag', 'results.txt');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${text}\n`);
}
