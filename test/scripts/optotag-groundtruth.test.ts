// The CellExplorer ground-truth cells through `optoloop optotag` (scripts/optotag-groundtruth.ts):
// real light pulses against the same trains moved into light-free epochs. The expectations come
// from the data's provenance, not from this code: every cell was optotagged (or identified) by its
// contributors, some cells do not respond to every pulse type (PROVENANCE.md), and without light a
// test at α = 0.01 should almost never fire.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runGroundTruth, summaryTable, type CellGroupResult } from '../../scripts/optotag-groundtruth.js';
import { artifactDir, sharedData } from '../helpers/paths.js';

let results: CellGroupResult[] = [];

test.before(async () => {
  results = await runGroundTruth({ dataFolder: sharedData('cellexplorer-groundtruth'), outFolder: join(artifactDir('optotag-groundtruth'), 'run') });
  console.log(`\n${summaryTable(results)}`);
});

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

test('nearly every ground-truth cell is tagged by at least one of its pulse types', () => {
  const byCell = new Map<string, boolean>();
  for (const r of results) if (r.real.pulses > 0) byCell.set(r.unit, (byCell.get(r.unit) ?? false) || r.real.tagged);
  const tagged = [...byCell.values()].filter(Boolean).length;
  console.log(`cells tagged by at least one pulse type: ${tagged}/${byCell.size}`);
  assert.ok(byCell.size >= 60, `cells with analysable pulses: ${byCell.size}`);
  assert.ok(tagged / byCell.size >= 0.9, `${tagged}/${byCell.size}`);
});

test('short pulses (1–15 ms, ≥ 20 analysed) tag most cells', () => {
  const short = results.filter((r) => r.durationMs >= 1 && r.durationMs <= 15 && r.real.pulses >= 20);
  const tagged = short.filter((r) => r.real.tagged).length;
  console.log(`short-pulse cell × duration pairs tagged: ${tagged}/${short.length}`);
  assert.ok(tagged / short.length >= 0.75, `${tagged}/${short.length}`);
});

test('sham pulses in light-free epochs tag (almost) nothing', () => {
  const sham = results.filter((r) => r.sham && r.sham.pulses > 0);
  const tagged = sham.filter((r) => r.sham!.tagged).length;
  console.log(`sham cell × duration pairs tagged: ${tagged}/${sham.length}`);
  assert.ok(sham.length >= 100);
  assert.ok(tagged / sham.length <= 0.03, `${tagged}/${sham.length}`);
});

test('latency and jitter of tagged cells match the published range (science.md §2)', () => {
  const tagged = results.filter((r) => r.real.tagged);
  const latency = median(tagged.map((r) => r.real.latency_ms!));
  const jitter = median(tagged.map((r) => r.real.jitter_ms!));
  console.log(`tagged: median latency ${latency.toFixed(2)} ms, median jitter ${jitter.toFixed(2)} ms`);
  assert.ok(latency >= 1.5 && latency <= 8, `median latency ${latency}`);
  assert.ok(jitter >= 0.2 && jitter <= 2.7, `median jitter ${jitter}`);
});

test.run();
