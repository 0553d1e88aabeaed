import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { classifierConfigSchema } from '../../../src/classify/config.js';
import { validateLibrary, type LibraryUnitInput } from '../../../src/classify/library.js';
import { loadTf } from '../../../src/classify/model/tf-backend.js';
import { OnlineUnits } from '../../../src/classify/online/online-units.js';
import { manifestTemplate } from '../../../src/classify/train/manifest-template.js';
import { trainFinal } from '../../../src/classify/train/trainer.js';
import * as s from '../../../src/config/schema.js';
import type { Float32SampleBlock } from '../../../src/core/sample-block.js';
import type { SnippetResult } from '../../../src/core/spikes.js';
import { artifactDir } from '../../helpers/paths.js';
import { seededRandom } from '../../helpers/seeded.js';
import { RATE_HZ, addSpike, allocateSnippets, makeUnit, twoColumnLayout, unitWaveform, worldHoods } from '../../helpers/snippet-world.js';
import { SYNTHETIC_CLASSES, syntheticSpikeTimes } from '../../helpers/synthetic-units.js';

const layout = twoColumnLayout(48);
const hoods = worldHoods(layout);
const WIDTH = { 'narrow-poisson': 0.25, 'wide-regular': 0.7, 'medium-bursty': 0.45 } as const;

/** A model that knows the three synthetic classes with the world's waveform shape. */
async function trainWorldModel(): Promise<string> {
  const random = seededRandom(21);
  const units: LibraryUnitInput[] = [];
  for (let i = 0; i < 12; i++) {
    for (const kind of SYNTHETIC_CLASSES) {
      const width = WIDTH[kind] * (0.9 + 0.2 * random());
      units.push({
        id: `${kind}-${i}`,
        label: kind,
        waveformUv: Array.from({ length: 91 }, (_, t) => 100 * unitWaveform(((t - 30) * 1000) / RATE_HZ, width) + 0.5 * (random() - 0.5)),
        waveformSampleRateHz: RATE_HZ,
        spikeTimesS: syntheticSpikeTimes(kind, 400 + Math.floor(1200 * random()), random),
      });
    }
  }
  const { tf } = await loadTf('wasm');
  const dir = join(artifactDir('online-units'), 'model');
  const template = manifestTemplate({ name: 'world', classes: [...SYNTHETIC_CLASSES], inputs: ['waveform', 'acg3d'] });
  await trainFinal(tf, validateLibrary({ units }, 'world').units, template, { folds: 0, seed: 3, epochs: 15, members: 2, batchSize: 32, learningRate: 3e-3, viewSpikeCounts: [100, 200, 400], log: () => {} }, dir);
  return dir;
}

test('spikes → units → features → cell types in the worker, live: each unit named, the table updated, time-to-label recorded', async () => {
  const modelDir = await trainWorldModel();
  const config = s.validate(classifierConfigSchema, { model: modelDir, backend: 'wasm', reclassify: { everyS: 5 } });
  assert.ok(config.ok);
  const lines: string[] = [];
  const units = await OnlineUnits.create({ config: (config as { value: s.Infer<typeof classifierConfigSchema> }).value, layout, sampleRateHz: RATE_HZ, maxSnippetRows: hoods.maxSize, log: (l) => lines.push(l) });
  try {
    assert.ok(lines.some((l) => /model world .* on wasm/.test(l)), lines.join('\n'));
    const random = seededRandom(8);
    const world = SYNTHETIC_CLASSES.map((kind, i) => ({ kind, unit: makeUnit(layout, i, 16, 80 + 150 * i, 120, WIDTH[kind]), times: syntheticSpikeTimes(kind, 1500, random) }));
    const events = world.flatMap((w, i) => w.times.filter((t) => t < 40).map((t) => [Math.round(t * RATE_HZ), i] as const)).sort((a, b) => a[0] - b[0]);
    const batch = allocateSnippets(hoods, 64);
    const noiseUv = new Float32Array(layout.channelCount).fill(8);
    const blockFrames = 300; // 10 ms blocks
    const block = { format: 'float32', streamId: 'world', firstSampleIndex: 0, sampleRateHz: RATE_HZ, channelCount: layout.channelCount, frameCount: blockFrames, samples: new Float32Array(0), deviceTimestamp: null, hostReceiveTimeNs: 0 } as Float32SampleBlock & { firstSampleIndex: number };
    const result: SnippetResult = { block, noiseUv, spikes: batch };
    const truthOf = new Map<number, Map<number, number>>();
    let e = 0;
    for (let start = 0; start < 40 * RATE_HZ; start += blockFrames) {
      batch.count = 0;
      const truth: number[] = [];
      // Spikes closer than 1.5 ms on one unit would overlap in the world: the detector's refractory period drops them too.
      while (e < events.length && events[e][0] < start + blockFrames) {
        const [sample, i] = events[e++];
        addSpike(batch, hoods, world[i].unit, sample, 8, random, 0.9 + 0.2 * random(), random() - 0.5);
        truth.push(i);
      }
      block.firstSampleIndex = start;
      units.process(result);
      for (let k = 0; k < batch.count; k++) {
        if (batch.unitId[k] < 0) continue;
        const v = truthOf.get(batch.unitId[k]) ?? new Map<number, number>();
        v.set(truth[k], (v.get(truth[k]) ?? 0) + 1);
        truthOf.set(batch.unitId[k], v);
      }
      // Let worker results in between blocks, as the event loop does live.
      if (start % (RATE_HZ / 2) === 0) await new Promise((r) => setImmediate(r));
    }
    await units.flush(40);
    const summaries = units.units();
    assert.ok(summaries.length >= 3, `units ${summaries.map((u) => u.unitId)}`);
    const status = units.status();
    assert.is(status.assignment, 'online');
    assert.is(status.inFlight, 0);
    assert.is(status.backend, 'wasm');
    for (const [i, w] of world.entries()) {
      // The unit holding most of this world unit's spikes.
      let best = -1;
      let bestN = 0;
      for (const [id, v] of truthOf) if ((v.get(i) ?? 0) > bestN) [best, bestN] = [id, v.get(i)!];
      const u = summaries.find((x) => x.unitId === best)!;
      assert.ok(u, `unit for ${w.kind}`);
      assert.is(u.classification?.label, w.kind, `${w.kind}: ${JSON.stringify(u.classification)}`);
      assert.ok(u.classification!.confidenceRatio >= 2);
      assert.is(units.labelOf(best), w.kind);
      assert.is(units.cellTypes.labelName(units.cellTypes.labelIndexOf(best)), w.kind);
      // Labelled from the first classification on (at 100 spikes) or soon after: within the run.
      const t = u.classification!.timeToLabelS!;
      assert.ok(t > 0 && t < 40, `time to label ${t}`);
      assert.ok(Math.abs(u.troughToPeakMs! - w.unit.widthMs) < 0.12, `${w.kind}: trough-to-peak ${u.troughToPeakMs}`);
      assert.is(u.classification!.modelName, 'world');
      assert.equal(u.classification!.classNames, [...SYNTHETIC_CLASSES]);
    }
  } finally {
    await units.close();
  }
});

test.run();
