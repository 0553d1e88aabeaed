// Spike-detection pipeline benchmark: µs per 1 ms block (30 frames at 30 kHz) on one core for
// reference → band-pass → noise → detect → snippets (and the peak-only path), at 32, 384, 1024 and
// 3072 channels, with p50 / p99 / p99.9 / max, the real-time factor and peak RSS; then each stage
// alone at 384 channels, to say where the time goes.
//
// Input: int16 blocks as a Neuropixels 1.0 source delivers them (2.34375 µV per count), with white
// noise (σ 8 µV), per-channel offsets, 50 Hz hum, and spikes (50–200 µV troughs with a spatial
// footprint) from channels/2 units firing at 2–14 Hz: ~4 spikes per second per channel. 250 ms of
// input is generated and replayed in a loop with increasing sample indices.
//
// Each configuration runs in its own process (so that its peak RSS is its own):
//   node --import tsx test/bench/pipeline.bench.ts            all configurations, as a table
//   node --import tsx test/bench/pipeline.bench.ts --child '{"channels":384,"path":"snippets"}'
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg } from 'node:os';
import { Subject, type OperatorFunction } from 'rxjs';
import { buildPipeline } from '../../src/pipeline/build-pipeline.js';
import { commonReference } from '../../src/pipeline/reference.js';
import { bandpass } from '../../src/pipeline/bandpass.js';
import { estimateNoise } from '../../src/pipeline/noise.js';
import { detectSpikes } from '../../src/pipeline/detect.js';
import { extractSnippets } from '../../src/pipeline/snippets.js';
import type { NoiseBlock, SpikeResult } from '../../src/pipeline/results.js';
import { cloneBlock, type Float32SampleBlock, type MutableFloat32Block, type MutableInt16Block, type SampleBlock } from '../../src/core/sample-block.js';
import { cloneSpikeBatch, type DetectionResult } from '../../src/core/spikes.js';
import { SeededRandom } from '../../src/core/random.js';
import { readProbeFile } from '../../src/probe/probeinterface.js';
import { buildLayout, layoutFromProbe, type ChannelLayout } from '../../src/probe/channel-layout.js';
import { sharedData } from '../helpers/paths.js';

const FS = 30000;
const FRAMES = 30;
const UV_PER_COUNT = 2.34375;
const LOOP_BLOCKS = 250;
const WARM_BLOCKS = 2000;
const MEASURE_BLOCKS = Number(process.env.OPTOLOOP_BENCH_BLOCKS ?? 20000);
const OPTIONS = { detect: { radiusUm: 60 } } as const;

interface ChildConfig {
  readonly channels: number;
  readonly path: 'snippets' | 'peak-only' | 'stages';
}

interface Stats {
  /** CPU time (user + system) per measured block, µs: what the block cost, even when other processes preempted it. */
  readonly cpuMean: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

interface ChildResult {
  readonly channels: number;
  readonly path: string;
  readonly stats?: Stats;
  readonly spikesPerS?: number;
  readonly stages?: { readonly name: string; readonly stats: Stats }[];
  readonly peakRssMb: number;
  readonly inputMb: number;
}

function stats({ times, cpuMean }: { times: Float64Array; cpuMean: number }): Stats {
  const sorted = Float64Array.from(times).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  let sum = 0;
  for (const v of times) sum += v;
  return { cpuMean, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: sorted[sorted.length - 1], mean: sum / times.length };
}

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** The real NP1.0 geometry for 384 channels (bank 0); beyond that, one such shank per 384 channels. */
function layoutFor(channels: number): ChannelLayout {
  const library = sharedData('probeinterface-library');
  if (channels === 32) {
    return layoutFromProbe(readProbeFile(`${library}/neuronexus/A1x32-Poly3-10mm-50-177/A1x32-Poly3-10mm-50-177.json`), 32);
  }
  const np = readProbeFile(`${library}/imec/NP1000/NP1000.json`);
  const bank0 = np.contacts.slice(0, 384);
  return buildLayout(
    `NP1000 ×${channels / 384}`,
    Array.from({ length: channels }, (_, c) => {
      const contact = bank0[c % 384];
      const shank = Math.floor(c / 384);
      return { id: `${shank}:${contact.id}`, xUm: contact.xUm + shank * 250, yUm: contact.yUm, shankId: String(shank) };
    }),
  );
}

/** LOOP_BLOCKS int16 blocks of synthetic raw data. */
function makeInput(layout: ChannelLayout): MutableInt16Block[] {
  const C = layout.channelCount;
  const frames = LOOP_BLOCKS * FRAMES;
  const r = new SeededRandom(C);
  const normals = Float32Array.from({ length: 65536 }, () => r.normal());
  const uv = new Float32Array(frames * C);
  const offsets = Float32Array.from({ length: C }, () => r.uniform(-200, 200));
  for (let f = 0; f < frames; f++) {
    const hum = 100 * Math.sin((2 * Math.PI * 50 * f) / FS);
    for (let c = 0; c < C; c++) uv[f * C + c] = offsets[c] + hum + 8 * normals[r.nextUint32() & 0xffff];
  }
  // Spikes: a biphasic waveform, footprint 1 / (1 + (d / 50 µm)²), truncated at 5 % of the peak.
  const waveform = Array.from({ length: 60 }, (_, i) => {
    const tMs = (i - 15) / 30;
    return -Math.exp(-(tMs * tMs) / (2 * 0.09 ** 2)) + 0.3 * Math.exp(-((tMs - 0.45) ** 2) / (2 * 0.18 ** 2));
  });
  const units = C / 2;
  for (let u = 0; u < units; u++) {
    const home = r.int(C);
    const x = layout.xUm[home] + r.uniform(-10, 10);
    const y = layout.yUm[home] + r.uniform(-10, 10);
    const amplitude = r.uniform(50, 200);
    const rateHz = r.uniform(2, 14);
    const footprint: [number, number][] = [];
    for (let c = 0; c < C; c++) {
      if (layout.shank[c] !== layout.shank[home]) continue;
      const g = 1 / (1 + (Math.hypot(layout.xUm[c] - x, layout.yUm[c] - y, 20) / 50) ** 2) / (1 / (1 + (20 / 50) ** 2));
      if (g > 0.05) footprint.push([c, g * amplitude]);
    }
    for (let t = r.exponential(FS / rateHz); t < frames - 60; t += 60 + r.exponential(FS / rateHz)) {
      const t0 = Math.floor(t);
      for (const [c, a] of footprint) for (let i = 0; i < 60; i++) uv[(t0 + i) * C + c] += a * waveform[i];
    }
  }
  const uvPerCount = new Float32Array(C).fill(UV_PER_COUNT);
  return Array.from({ length: LOOP_BLOCKS }, (_, b) => ({
    format: 'int16' as const,
    streamId: 'bench',
    firstSampleIndex: b * FRAMES,
    sampleRateHz: FS,
    channelCount: C,
    frameCount: FRAMES,
    samples: Int16Array.from(uv.subarray(b * FRAMES * C, (b + 1) * FRAMES * C), (v) => Math.max(-32768, Math.min(32767, Math.round(v / UV_PER_COUNT)))),
    uvPerCount,
    deviceTimestamp: null,
    hostReceiveTimeNs: 0,
  }));
}

/**
 * Times `op` block by block: before each block (outside the timing), `prepare(k)` returns the k-th
 * input, e.g. a reused block refilled from a recording, as an upstream stage would hand it over.
 * Returns µs per block.
 */
function timeOperator<I, O>(op: OperatorFunction<I, O>, prepare: (blockNumber: number) => I, sink: (o: O) => void): { times: Float64Array; cpuMean: number } {
  const subject = new Subject<I>();
  let failure: unknown = null;
  subject.pipe(op).subscribe({ next: sink, error: (e) => (failure = e) });
  const times = new Float64Array(MEASURE_BLOCKS);
  let cpuStart = 0;
  for (let k = 0; k < WARM_BLOCKS + MEASURE_BLOCKS; k++) {
    if (k === WARM_BLOCKS) cpuStart = cpuMicros();
    const input = prepare(k);
    const t0 = performance.now();
    subject.next(input);
    const t1 = performance.now();
    if (k >= WARM_BLOCKS) times[k - WARM_BLOCKS] = (t1 - t0) * 1000;
  }
  const cpu = cpuMicros() - cpuStart;
  if (failure) throw failure;
  // The CPU cost of preparing the inputs (and of the timing itself) is measured alone and taken off.
  const prepareStart = cpuMicros();
  for (let k = WARM_BLOCKS; k < WARM_BLOCKS + MEASURE_BLOCKS; k++) {
    prepare(k);
    performance.now();
    performance.now();
  }
  const prepareCpu = cpuMicros() - prepareStart;
  return { times, cpuMean: (cpu - prepareCpu) / MEASURE_BLOCKS };
}

function restampBlock(block: { firstSampleIndex: number; hostReceiveTimeNs: number }, k: number): void {
  block.firstSampleIndex = k * FRAMES;
  block.hostReceiveTimeNs = (k * FRAMES * 1e9) / FS;
}

function runChain(config: ChildConfig, layout: ChannelLayout, input: MutableInt16Block[]): ChildResult {
  let spikes = 0;
  const op = buildPipeline({ ...OPTIONS, snippets: { mode: config.path === 'peak-only' ? 'peak-only' : 'snippets' } }, layout);
  const times = timeOperator<SampleBlock, SpikeResult>(
    op,
    (k) => {
      const b = input[k % input.length];
      restampBlock(b, k);
      return b;
    },
    (r) => (spikes += r.spikes.count),
  );
  return {
    channels: config.channels,
    path: config.path,
    stats: stats(times),
    spikesPerS: (spikes / ((WARM_BLOCKS + MEASURE_BLOCKS) * FRAMES)) * FS,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    inputMb: (LOOP_BLOCKS * FRAMES * config.channels * 2) / 2 ** 20,
  };
}

/** Records LOOP_BLOCKS inputs of every stage (owned copies) after warm-up, then times each stage alone on them. */
function runStages(config: ChildConfig, layout: ChannelLayout, input: MutableInt16Block[]): ChildResult {
  const referenced: Float32SampleBlock[] = [];
  const filtered: Float32SampleBlock[] = [];
  const noisy: NoiseBlock[] = [];
  const detected: DetectionResult[] = [];
  const record = WARM_BLOCKS;
  let k = 0;
  const keep = (): boolean => k >= record && k < record + LOOP_BLOCKS;
  // Build the chain stage by stage so that each stage's input can be copied on its way.
  const refSubject = new Subject<Float32SampleBlock>();
  const bpSubject = new Subject<Float32SampleBlock>();
  const noiseSubject = new Subject<NoiseBlock>();
  const detectSubject = new Subject<DetectionResult>();
  const chain = new Subject<SampleBlock>();
  chain.pipe(commonReference({}, layout)).subscribe((b) => {
    if (keep()) referenced.push(cloneBlock(b));
    refSubject.next(b);
  });
  refSubject.pipe(bandpass({})).subscribe((b) => {
    if (keep()) filtered.push(cloneBlock(b));
    bpSubject.next(b);
  });
  bpSubject.pipe(estimateNoise({})).subscribe((n) => {
    if (keep()) {
      noisy.push({ block: cloneBlock(n.block), noiseUv: n.noiseUv.slice(), segmentCount: n.segmentCount, segmentStartFrame: n.segmentStartFrame.slice(), segmentNoiseUv: n.segmentNoiseUv.slice() });
    }
    noiseSubject.next(n);
  });
  noiseSubject.pipe(detectSpikes(OPTIONS.detect, layout)).subscribe((d) => {
    if (keep()) detected.push({ block: cloneBlock(d.block), noiseUv: d.noiseUv.slice(), spikes: cloneSpikeBatch(d.spikes) });
    detectSubject.next(d);
  });
  for (k = 0; k < record + LOOP_BLOCKS; k++) {
    const b = input[k % input.length];
    restampBlock(b, k);
    chain.next(b);
  }
  const loopFrames = LOOP_BLOCKS * FRAMES;
  // One reused block per stage input, refilled from the recording before each timed block.
  const C = config.channels;
  const reused = (): MutableFloat32Block => ({ ...cloneBlock(referenced[0]), samples: new Float32Array(FRAMES * C) });
  const refill = (target: MutableFloat32Block, recorded: readonly Float32SampleBlock[], k: number): MutableFloat32Block => {
    target.samples.set(recorded[k % LOOP_BLOCKS].samples);
    restampBlock(target, k);
    return target;
  };
  const referenceInput = reused();
  const bandpassInput = reused();
  const noiseInput = { ...noisy[0], block: reused(), noiseUv: new Float32Array(C), segmentStartFrame: new Int32Array(noisy[0].segmentStartFrame.length + 4), segmentNoiseUv: new Float32Array(noisy[0].segmentNoiseUv.length + 4 * C) };
  const detectedCapacity = Math.max(...detected.map((d) => d.spikes.count), 1);
  const snippetInput: DetectionResult = {
    block: reused(),
    noiseUv: new Float32Array(C),
    spikes: { ...detected[0].spikes, count: 0, peakSampleIndex: new Float64Array(detectedCapacity), peakChannel: new Int32Array(detectedCapacity), amplitudeUv: new Float32Array(detectedCapacity), unitId: new Int32Array(detectedCapacity) },
  };
  const stages = [
    {
      name: 'reference (median, global)',
      stats: stats(timeOperator(commonReference({}, layout), (k) => { const b = input[k % LOOP_BLOCKS]; restampBlock(b, k); return b as SampleBlock; }, () => {})),
    },
    { name: 'band-pass (3 sections)', stats: stats(timeOperator(bandpass({}), (k) => refill(referenceInput, referenced, k) as Float32SampleBlock, () => {})) },
    { name: 'noise (histogram)', stats: stats(timeOperator(estimateNoise({}), (k) => refill(bandpassInput, filtered, k) as Float32SampleBlock, () => {})) },
    {
      name: 'detect',
      stats: stats(
        timeOperator(
          detectSpikes(OPTIONS.detect, layout),
          (k) => {
            const recorded = noisy[k % LOOP_BLOCKS];
            refill(noiseInput.block as MutableFloat32Block, filtered, k);
            noiseInput.noiseUv.set(recorded.noiseUv);
            noiseInput.segmentCount = recorded.segmentCount;
            noiseInput.segmentStartFrame.set(recorded.segmentStartFrame);
            noiseInput.segmentNoiseUv.set(recorded.segmentNoiseUv);
            return noiseInput as NoiseBlock;
          },
          () => {},
        ),
      ),
    },
    {
      name: 'snippets (30 + 1 + 60 samples)',
      stats: stats(
        timeOperator(
          extractSnippets({}, layout),
          (k) => {
            // The recorded detections, shifted by whole loops so that sample indices keep increasing.
            const recorded = detected[k % LOOP_BLOCKS];
            refill(snippetInput.block as MutableFloat32Block, filtered, k);
            const spikes = snippetInput.spikes;
            spikes.count = recorded.spikes.count;
            const shift = Math.floor(k / LOOP_BLOCKS) * loopFrames - record * FRAMES;
            for (let i = 0; i < spikes.count; i++) {
              spikes.peakSampleIndex[i] = recorded.spikes.peakSampleIndex[i] + shift;
              spikes.peakChannel[i] = recorded.spikes.peakChannel[i];
              spikes.amplitudeUv[i] = recorded.spikes.amplitudeUv[i];
            }
            return snippetInput;
          },
          () => {},
        ),
      ),
    },
  ];
  return { channels: config.channels, path: 'stages', stages, peakRssMb: process.resourceUsage().maxRSS / 1024, inputMb: 0 };
}

function child(config: ChildConfig): void {
  const layout = layoutFor(config.channels);
  const input = makeInput(layout);
  const result = config.path === 'stages' ? runStages(config, layout, input) : runChain(config, layout, input);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runChild(config: ChildConfig): ChildResult {
  const self = fileURLToPath(import.meta.url);
  const out = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', JSON.stringify(config)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (out.status !== 0) throw new Error(`bench child ${JSON.stringify(config)} failed:\n${out.stderr}`);
  return JSON.parse(out.stdout.trim().split('\n').pop()!) as ChildResult;
}

const fmt = (v: number, width: number, digits = 1): string => v.toFixed(digits).padStart(width);

function parent(): void {
  console.log(`pipeline: µs per 1 ms block (${FRAMES} frames at ${FS / 1000} kHz), int16 input, one core (${cpus()[0]?.model ?? 'CPU'}), Node ${process.version}`);
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores (wall-clock times include preemption by other processes; CPU µs do not)`);
  console.log(`${MEASURE_BLOCKS} blocks measured after ${WARM_BLOCKS} warm-up blocks; chain = reference (median) → band-pass (300–6000 Hz, 3 sections) → noise → detect → snippets / peak-only`);
  console.log('');
  console.log('channels  path        p50 µs   p99 µs  p99.9 µs   max µs  mean µs   CPU µs  × real time (CPU)  spikes/s  peak RSS MB');
  for (const channels of [32, 384, 1024, 3072]) {
    for (const path of ['snippets', 'peak-only'] as const) {
      const r = runChild({ channels, path });
      const s = r.stats!;
      console.log(
        `${String(channels).padStart(8)}  ${path.padEnd(9)} ${fmt(s.p50, 8)} ${fmt(s.p99, 8)} ${fmt(s.p999, 9)} ${fmt(s.max, 8)} ${fmt(s.mean, 8)} ${fmt(s.cpuMean, 8)} ${fmt(1000 / s.cpuMean, 18)} ${fmt(r.spikesPerS!, 9, 0)} ${fmt(r.peakRssMb, 12, 0)}`,
      );
    }
  }
  console.log('');
  console.log('stages alone at 384 channels (each on recorded inputs of the stage before it):');
  console.log('stage                             p50 µs   p99 µs  p99.9 µs   max µs  mean µs   CPU µs');
  const stages = runChild({ channels: 384, path: 'stages' }).stages!;
  let totalP50 = 0;
  let totalCpu = 0;
  for (const { name, stats: s } of stages) {
    totalP50 += s.p50;
    totalCpu += s.cpuMean;
    console.log(`${name.padEnd(32)} ${fmt(s.p50, 8)} ${fmt(s.p99, 8)} ${fmt(s.p999, 9)} ${fmt(s.max, 8)} ${fmt(s.mean, 8)} ${fmt(s.cpuMean, 8)}`);
  }
  console.log(`${'sum of the stages'.padEnd(32)} ${fmt(totalP50, 8)} ${''.padStart(8)} ${''.padStart(9)} ${''.padStart(8)} ${''.padStart(8)} ${fmt(totalCpu, 8)}`);
}

const at = process.argv.indexOf('--child');
if (at >= 0) child(JSON.parse(process.argv[at + 1]) as ChildConfig);
else parent();
