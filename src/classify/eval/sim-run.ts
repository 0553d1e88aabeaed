/**
 * A simulated recording through the live path, in process and as fast as it computes: the
 * simulator's generator → the detection pipeline (buildPipeline) → OnlineUnits (assignment,
 * features, and the classifier worker when a model is set). Returns the detected spikes with their
 * final unit ids, the ground truth, and the OnlineUnits (still open: the caller closes it).
 * Used by the model build (library from simulated units) and by the evaluation scripts.
 */
import { Subject } from 'rxjs';
import type { Int16SampleBlock } from '../../core/sample-block.js';
import type { SnippetResult } from '../../core/spikes.js';
import { buildPipeline, hasSnippets, type PipelineOptionsInput } from '../../pipeline/index.js';
import { pipelineOptionsSchema, validateOptions } from '../../pipeline/options.js';
import { neighbourhoodsByRadius } from '../../probe/neighbourhoods.js';
import { createSimulation, type Simulation } from '../../../sim/simulation.js';
import type { SimOptionsInput } from '../../../sim/options.js';
import type { ClassifierConfig } from '../config.js';
import { OnlineUnits } from '../online/online-units.js';
import { OnlineClusterer } from '../units/online-clusterer.js';
import { detectionGeometryOf } from '../units/unit-assigner.js';
import type { DetectedSpikes, TruthSpikes } from './ground-truth-match.js';
import { SpikeLog } from './spike-log.js';

export interface SimRunOptions {
  readonly sim: SimOptionsInput;
  readonly durationS: number;
  readonly classifier: ClassifierConfig;
  readonly pipeline?: PipelineOptionsInput;
  readonly blockFrames?: number;
  readonly log?: (line: string) => void;
  readonly progress?: (doneS: number, totalS: number) => void;
}

export interface SimRun {
  readonly simulation: Simulation;
  readonly units: OnlineUnits;
  readonly detected: DetectedSpikes;
  /** With early identification (pipeline.snippets.earlySamplesAfter): the same spikes with their early ids (null without). */
  readonly earlyDetected: DetectedSpikes | null;
  readonly truth: TruthSpikes;
  readonly wallS: number;
}

export async function runSimulation(options: SimRunOptions): Promise<SimRun> {
  const simulation = createSimulation({ ...options.sim, durationHintS: options.durationS });
  const generator = simulation.generator;
  const layout = generator.layout;
  const rate = simulation.options.sampleRateHz;
  const pipelineOptions = validateOptions(pipelineOptionsSchema, options.pipeline ?? {}, 'pipeline');
  const maxRows = neighbourhoodsByRadius(layout, pipelineOptions.snippets.radiusUm).maxSize;
  const units = await OnlineUnits.create({ config: options.classifier, layout, sampleRateHz: rate, maxSnippetRows: maxRows, log: options.log });
  units.assigner.setDetectionGeometry?.(detectionGeometryOf(pipelineOptions));
  const spikes = new SpikeLog();
  const earlySpikes = pipelineOptions.snippets.earlySamplesAfter > 0 ? new SpikeLog() : null;
  const subject = new Subject<Int16SampleBlock>();
  let failure: unknown = null;
  subject.pipe(buildPipeline(options.pipeline, layout)).subscribe({
    next: (result) => {
      if (!hasSnippets(result)) return;
      units.process(result as SnippetResult);
      spikes.take(result.spikes);
      if (result.early) earlySpikes?.take(result.early);
    },
    error: (e) => (failure = e),
  });
  const frames = options.blockFrames ?? 300;
  const total = Math.round(options.durationS * rate);
  const block: { -readonly [K in keyof Int16SampleBlock]: Int16SampleBlock[K] } = {
    format: 'int16',
    streamId: `sim-${simulation.options.preset}-${simulation.options.seed}`,
    firstSampleIndex: 0,
    sampleRateHz: rate,
    channelCount: layout.channelCount,
    frameCount: frames,
    samples: new Int16Array(frames * layout.channelCount),
    uvPerCount: simulation.uvPerCount,
    deviceTimestamp: null,
    hostReceiveTimeNs: 0,
  };
  const started = performance.now();
  let lastYield = started;
  while (generator.position < total) {
    const n = Math.min(frames, total - generator.position);
    block.firstSampleIndex = generator.position;
    block.frameCount = n;
    generator.generate(block.samples, n);
    block.hostReceiveTimeNs = performance.now() * 1e6;
    subject.next(block);
    if (failure) throw failure;
    // Give the classifier worker's results a turn of the event loop, as live.
    if (performance.now() - lastYield > 50) {
      lastYield = performance.now();
      options.progress?.(generator.position / rate, options.durationS);
      await new Promise((r) => setImmediate(r));
    }
  }
  subject.complete();
  await units.flush(total / rate);
  const resolve = units.assigner instanceof OnlineClusterer ? (id: number) => (units.assigner as OnlineClusterer).resolve(id) : (id: number) => id;
  for (const log of earlySpikes ? [spikes, earlySpikes] : [spikes]) for (let i = 0; i < log.count; i++) if (log.unit[i] >= 0) log.unit[i] = resolve(log.unit[i]);
  const truth = truthSpikesOf(simulation);
  return {
    simulation,
    units,
    detected: spikes.detected(),
    earlyDetected: earlySpikes?.detected() ?? null,
    truth,
    wallS: (performance.now() - started) / 1000,
  };
}

/** The simulator's ground truth (every foreground spike so far, or up to `untilSample`) in the form the matcher takes. */
export function truthSpikesOf(simulation: Simulation, untilSample = Infinity): TruthSpikes {
  const gt = simulation.generator.groundTruth;
  const order = gt.sortedOrder().filter((i) => gt.spikeSample[i] <= untilSample);
  const peakChannelOfUnit = new Map<number, number>();
  for (const u of simulation.units) if (!u.background) peakChannelOfUnit.set(u.id, u.peakChannel);
  return {
    count: order.length,
    sample: Float64Array.from(order, (i) => gt.spikeSample[i]),
    unit: Int32Array.from(order, (i) => gt.spikeUnit[i]),
    peakChannelOfUnit,
  };
}
