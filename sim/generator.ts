/**
 * The simulator's engine: turns a population into int16 samples, block after block, and records
 * the ground truth of what it emitted.
 *
 * Per block [B, B + F): thermal noise (Gaussian, σ per channel) + noise common to all channels +
 * optional mains; then every spike whose template overlaps the block (units' next spikes sit in a
 * min-heap keyed by the template's first sample, so nothing per unit is visited per block); then
 * light artefacts; then scaling to counts with clipping at the ADC's range.
 *
 * Determinism: every random stream is its own generator (noise, each unit's spikes, each unit's
 * light answers, drift), consumed in sample order; contributions to a sample are summed in a fixed
 * order (noise, then spikes in the order their templates start, then artefacts); and a light pulse
 * is applied at a fixed sample (its onset − 1 ms: the generator splits its work there). So the
 * same seed and parameters give the same bytes whatever the block size.
 *
 * Light timing contract: a pulse added with onset ≥ the next sample to generate takes effect at
 * exactly that onset (light artefact and ground truth at that sample). A pulse whose onset is
 * already past is moved to the next sample to be generated: the generator never rewrites samples
 * it has emitted. Evoked spikes whose template would have to start before the next sample to be
 * generated are delayed to the earliest sample where it can (only possible for onsets less than
 * 1 ms ahead with latencies below 1 ms, shorter than any in the presets). `SimLightSink` turns a
 * trigger into onset = first sample of the next block generated after the trigger + the train's
 * programmed delay.
 */
import { OptoloopError } from '../src/core/errors.js';
import type { ChannelLayout } from '../src/probe/channel-layout.js';
import type { PresetSpec } from './cell-types.js';
import { ProbeDrift, type DriftOptions } from './drift.js';
import { GroundTruthLog } from './ground-truth-log.js';
import { evokedSpikes, type LightPulse } from './light.js';
import type { SimUnit } from './population.js';
import { Rng } from './rng.js';
import { amplitudeFactor, type DecayModel } from './spatial.js';
import { ComplexSpikeClock, SpikeTrain } from './spike-train.js';
import { SimKernels } from './wasm-kernels.js';
import type { NoiseThread, NoiseThreadSettings } from './noise-thread.js';

/** Polled at the start of every block: a light sink or device emulator adds its pulses here. */
export interface LightTriggerSource {
  drainTriggers(blockStartSample: number, generator: SimGenerator): void;
}

export interface GeneratorConfig {
  readonly preset: PresetSpec;
  readonly layout: ChannelLayout;
  readonly units: readonly SimUnit[];
  readonly sampleRateHz: number;
  readonly seed: number;
  readonly noiseUv: Float32Array;
  readonly commonNoiseUv: number;
  readonly uvPerCount: number;
  /** Inclusive ADC range in counts, e.g. −512 … 511 for a 10-bit ADC. */
  readonly minCount: number;
  readonly maxCount: number;
  readonly lineNoiseHz: number;
  readonly lineNoiseUv: number;
  readonly drift: DriftOptions | null;
  readonly decay: DecayModel;
  readonly artefactUv: number;
  readonly artefactDecayMs: number;
}

const CHUNK_FRAMES = 1024;

export class SimGenerator {
  readonly sampleRateHz: number;
  readonly channelCount: number;
  readonly layout: ChannelLayout;
  readonly units: readonly SimUnit[];
  readonly uvPerCount: number;
  readonly groundTruth = new GroundTruthLog();
  /** Samples before the trough in every template: a spike at t starts at t − samplesBefore. */
  readonly samplesBefore: number;
  private readonly config: GeneratorConfig;
  private readonly triggerSources: LightTriggerSource[] = [];
  private nextSample = 0;

  // Noise.
  private readonly kernels: SimKernels;
  private readonly commonRng: Rng;
  private readonly noiseSigma: Float32Array;
  private readonly lineGain: Float32Array;
  private readonly linePhase: Float64Array;
  private readonly acc: Float32Array;
  private readonly common: Float32Array;
  private readonly commonScale: Float32Array;
  private readonly line: Float32Array;

  // Spikes: one pending (drawn, not yet placed) spike per unit in a min-heap keyed by start sample.
  private readonly trains: UnitTrain[];
  private readonly lightRngs: Rng[];
  private readonly unitVersion: Int32Array;
  private readonly unitPendingTime: Float64Array;
  private readonly unitPendingEvoked: Uint8Array;
  private readonly unitLastPlaced: Float64Array;
  private readonly unitChannels: Int32Array[];
  /** Trimmed templates, frame-major (t × footprint channels), for cache-friendly adds. */
  private readonly unitTemplate: Float32Array[];
  private readonly unitLength: Int32Array;
  /** First channel of a contiguous footprint (templates added by the SIMD kernel), −1 otherwise. */
  private readonly unitDenseStart: Int32Array;
  /** First template sample relative to the trough (≤ 0). */
  private readonly unitStartOffset: Int32Array;
  private readonly unitX: Float64Array;
  private readonly unitY: Float64Array;
  private readonly unitZ: Float64Array;
  private readonly unitSomaUv: Float64Array;
  private readonly unitExponent: Float64Array;
  private readonly unitLogged: Uint8Array;
  private heapSize = 0;
  private heapStart: Float64Array;
  private heapTime: Float64Array;
  private heapUnit: Int32Array;
  private heapVersion: Int32Array;
  private heapAmplitude: Float32Array;
  private heapEvoked: Uint8Array;

  // Spikes being written (their template overlaps the current or a later block).
  private readonly maxFootprint: number;
  private activeCount = 0;
  private readonly activeCapacity: number;
  private activeUnit: Int32Array;
  private activeStart: Float64Array;
  private readonly activeGain: Float32Array;

  // Light.
  private readonly pendingPulses: PendingPulse[] = [];
  private readonly drift: ProbeDrift | null;
  private readonly artefactKernel: Float32Array;
  private readonly artefactGain: Float32Array;
  private artefactCount = 0;
  private artefactStart = new Float64Array(64);
  private artefactScale = new Float32Array(64);

  constructor(config: GeneratorConfig) {
    this.config = config;
    this.sampleRateHz = config.sampleRateHz;
    this.layout = config.layout;
    this.channelCount = config.layout.channelCount;
    this.units = config.units;
    this.uvPerCount = config.uvPerCount;
    const C = this.channelCount;
    if (config.noiseUv.length !== C) throw new OptoloopError('E_INTERNAL', `sim: noiseUv has ${config.noiseUv.length} entries for ${C} channels`);
    this.commonRng = new Rng(config.seed, 'common-noise');
    this.noiseSigma = config.noiseUv;
    const setupRng = new Rng(config.seed, 'line-noise');
    this.lineGain = new Float32Array(C);
    for (let c = 0; c < C; c++) this.lineGain[c] = 0.7 + 0.6 * setupRng.uniform();
    this.linePhase = Float64Array.from([0, 0, 0], () => setupRng.uniform() * 2 * Math.PI);
    this.commonScale = Float32Array.of(config.commonNoiseUv);
    this.line = new Float32Array(CHUNK_FRAMES);
    this.drift = config.drift && (config.drift.amplitudeUm > 0 || config.drift.randomWalkUmPerSqrtS > 0) ? new ProbeDrift(config.drift, config.sampleRateHz, config.seed) : null;

    const U = config.units.length;
    this.samplesBefore = U ? config.units[0].samplesBefore : Math.round(config.sampleRateHz / 1000);
    this.unitVersion = new Int32Array(U);
    this.unitPendingTime = new Float64Array(U).fill(NaN);
    this.unitPendingEvoked = new Uint8Array(U);
    this.unitLastPlaced = new Float64Array(U).fill(-Infinity);
    const trimmed = config.units.map((u) => trimTranspose(u));
    this.unitChannels = trimmed.map((t) => t.channels);
    this.unitTemplate = trimmed.map((t) => t.template);
    this.unitDenseStart = Int32Array.from(trimmed, (t) => (t.dense ? t.channels[0] : -1));
    this.unitLength = Int32Array.from(trimmed, (t) => t.length);
    this.unitStartOffset = Int32Array.from(trimmed, (t) => t.startOffset);
    this.unitX = Float64Array.from(config.units, (u) => u.xUm);
    this.unitY = Float64Array.from(config.units, (u) => u.yUm);
    this.unitZ = Float64Array.from(config.units, (u) => u.zUm);
    this.unitSomaUv = Float64Array.from(config.units, (u) => u.somaAmplitudeUv);
    this.unitExponent = Float64Array.from(config.units, (u) => u.farFieldExponent);
    this.unitLogged = Uint8Array.from(config.units, (u) => (u.background ? 0 : 1));
    this.maxFootprint = Math.max(1, ...trimmed.map((t) => t.channels.length));
    // A unit's spikes are at least its refractory period apart, so at most ⌈length / refractory⌉ + 1
    // of them overlap any block: the active list never needs more room than that, summed.
    let activeCapacity = 16;
    config.units.forEach((u, i) => {
      activeCapacity += Math.ceil(this.unitLength[i] / Math.max(1, (u.firing.refractoryMs * config.sampleRateHz) / 1000 - 1)) + 1;
    });
    this.activeCapacity = activeCapacity;
    this.activeUnit = new Int32Array(this.activeCapacity);
    this.activeStart = new Float64Array(this.activeCapacity);
    this.kernels = new SimKernels({
      channelCount: C,
      capacityFrames: CHUNK_FRAMES,
      noiseSigmaUv: config.noiseUv,
      noise: new Rng(config.seed, 'noise'),
      denseTemplates: trimmed.map((t) => (t.dense ? t.template : null)),
      activeCapacity: this.activeCapacity,
      gainsPerSpike: this.maxFootprint,
    });
    this.acc = this.kernels.acc;
    this.common = this.kernels.common;
    this.activeGain = this.kernels.gains;
    const heapCapacity = Math.max(16, 2 * U);
    this.heapStart = new Float64Array(heapCapacity);
    this.heapTime = new Float64Array(heapCapacity);
    this.heapUnit = new Int32Array(heapCapacity);
    this.heapVersion = new Int32Array(heapCapacity);
    this.heapAmplitude = new Float32Array(heapCapacity);
    this.heapEvoked = new Uint8Array(heapCapacity);

    this.trains = [];
    this.lightRngs = [];
    const clocks = new Map<number, ComplexSpikeClock>();
    const purkinje = config.preset.purkinje;
    // Complex-spike clocks first: a cell's PkC_ss train needs its clock when it is built.
    const csTrains = new Map<number, SpikeTrain>();
    config.units.forEach((u) => {
      if (purkinje && u.cellId >= 0 && u.type === purkinje.complexSpikeType) {
        const train = new SpikeTrain(u.firing, new Rng(config.seed, `spikes:${u.id}`), config.sampleRateHz, 0);
        csTrains.set(u.id, train);
        clocks.set(u.cellId, new ComplexSpikeClock(train));
      }
    });
    config.units.forEach((u, i) => {
      this.lightRngs.push(new Rng(config.seed, `light:${u.id}`));
      if (purkinje && u.cellId >= 0 && u.type === purkinje.complexSpikeType) {
        // The CS unit reads its cell's clock: a train whose next() pops the clock's times.
        const clock = clocks.get(u.cellId)!;
        this.trains.push(new ComplexSpikeReader(clock, new Rng(config.seed, `cs-amplitude:${u.id}`)));
      } else {
        const train = new SpikeTrain(u.firing, new Rng(config.seed, `spikes:${u.id}`), config.sampleRateHz, 0);
        if (purkinje && u.cellId >= 0 && u.type === purkinje.simpleSpikeType) {
          train.pauseClock = clocks.get(u.cellId) ?? null;
          train.pauseMs = purkinje.pauseMs;
        }
        this.trains.push(train);
      }
      this.pushNext(i);
    });

    // Light artefact: a fast rise and exponential decay (photoelectric transient), larger on the
    // channels nearest the top of the probe where the fibre sits (assumption).
    const decaySamples = (config.artefactDecayMs * config.sampleRateHz) / 1000;
    const riseSamples = Math.max(1, decaySamples / 8);
    const kernelLength = Math.ceil(decaySamples * 6) + 1;
    this.artefactKernel = new Float32Array(kernelLength);
    let peak = 0;
    for (let i = 0; i < kernelLength; i++) {
      const v = Math.exp(-i / decaySamples) - Math.exp(-i / riseSamples);
      this.artefactKernel[i] = v;
      peak = Math.max(peak, v);
    }
    for (let i = 0; i < kernelLength; i++) this.artefactKernel[i] /= peak;
    this.artefactGain = new Float32Array(C);
    let yMin = Infinity;
    let yMax = -Infinity;
    for (let c = 0; c < C; c++) {
      yMin = Math.min(yMin, this.layout.yUm[c]);
      yMax = Math.max(yMax, this.layout.yUm[c]);
    }
    for (let c = 0; c < C; c++) this.artefactGain[c] = config.artefactUv * (0.5 + (0.5 * (this.layout.yUm[c] - yMin)) / Math.max(1, yMax - yMin));
  }

  /** Index of the next sample to be generated. */
  get position(): number {
    return this.nextSample;
  }

  /**
   * Draws the rest of the thermal noise ahead on a worker thread (sim/noise-thread.ts): the same
   * samples, with ~70 % of the work off the calling thread. One-way: after closeNoiseThread()
   * this generator generates no more.
   */
  async startNoiseThread(settings: NoiseThreadSettings = {}): Promise<NoiseThread> {
    return this.kernels.startNoiseThread(settings);
  }

  async closeNoiseThread(): Promise<void> {
    await this.kernels.closeNoiseThread();
  }

  addTriggerSource(source: LightTriggerSource): void {
    this.triggerSources.push(source);
  }

  removeTriggerSource(source: LightTriggerSource): void {
    const i = this.triggerSources.indexOf(source);
    if (i >= 0) this.triggerSources.splice(i, 1);
  }

  /**
   * Schedules a light pulse. See the light timing contract above; returns the pulse as it will
   * take effect (its onset moved to the earliest possible sample if it was already past).
   */
  addPulse(pulse: LightPulse): LightPulse {
    return this.schedulePulse(pulse, null);
  }

  private schedulePulse(pulse: LightPulse, open: OpenPulse | null): LightPulse {
    const earliest = this.nextSample;
    let p = pulse;
    if (p.onsetSample < earliest) {
      const width = p.offsetSample - p.onsetSample;
      p = { ...p, onsetSample: earliest, offsetSample: earliest + width };
    }
    const entry: PendingPulse = { ...p, applyAt: Math.max(this.nextSample, p.onsetSample - this.samplesBefore), open };
    let i = this.pendingPulses.length;
    while (i > 0 && this.pendingPulses[i - 1].applyAt > entry.applyAt) i--;
    this.pendingPulses.splice(i, 0, entry);
    if (open) {
      open.pulse = p;
      open.pending = entry;
    }
    return p;
  }

  /**
   * Light whose end is not known when it starts (a host-timed LED switched on, a gate edge seen
   * as it happens): scheduled like `addPulse` with `pulse.offsetSample` as the longest it may
   * last, and ended by `endOpenPulse` once the off edge is known.
   */
  addOpenPulse(pulse: LightPulse): OpenPulse {
    const handle = new OpenPulse(pulse);
    this.schedulePulse(pulse, handle);
    return handle;
  }

  /**
   * Ends an open pulse at `offsetSample` (clamped to [onset + 1, the longest it was given] and
   * never before the next sample to generate): as if it had been added with that offset from the
   * start, except that the unit's light answers were drawn for the longer pulse — its first evoked
   * spike stays when a pulse of the real width would have allowed it (up to 2 × the unit's
   * latency after the offset), sustained spikes after the offset are cancelled — and the offset
   * artefact and the ground-truth record move to the real offset. Returns the pulse as it is now.
   */
  endOpenPulse(handle: OpenPulse, offsetSample: number): LightPulse {
    const p = handle.pulse;
    if (handle.ended) return p;
    handle.ended = true;
    const offset = Math.min(p.offsetSample, Math.max(offsetSample, p.onsetSample + 1, this.nextSample));
    if (offset === p.offsetSample) return p;
    const ended: LightPulse = { ...p, offsetSample: offset };
    handle.pulse = ended;
    if (handle.pending) {
      const i = this.pendingPulses.indexOf(handle.pending);
      if (i >= 0) this.pendingPulses[i] = { ...handle.pending, offsetSample: offset };
      handle.pending = null;
      return ended;
    }
    if (!handle.record) return ended; // aborted before it took effect
    const log = this.groundTruth.pulses;
    const k = log.lastIndexOf(handle.record);
    if (k >= 0) log[k] = { ...handle.record, offsetSample: offset };
    if (this.config.artefactUv > 0) {
      const scale = Math.fround(-p.level);
      for (let a = 0; a < this.artefactCount; a++) {
        if (this.artefactStart[a] !== p.offsetSample || this.artefactScale[a] !== scale) continue;
        this.artefactStart.copyWithin(a, a + 1, this.artefactCount);
        this.artefactScale.copyWithin(a, a + 1, this.artefactCount);
        this.artefactCount--;
        this.addArtefact(offset, -p.level);
        break;
      }
    }
    const first = handle.firstEvoked;
    const msToSamples = this.sampleRateHz / 1000;
    for (let u = 0; u < this.units.length; u++) {
      const unit = this.units[u];
      if (!unit.lightResponsive || !first) continue;
      const t0 = first[u];
      // The first answer survives if it would have come after a pulse of the real width too.
      const cut = t0 >= offset && t0 < offset + 2 * unit.light.latencyMs * msToSamples ? t0 + 1 : offset;
      const train = this.trains[u];
      train.dropForcedFrom(cut);
      if (this.unitPendingEvoked[u] && this.unitPendingTime[u] >= cut && this.unitPendingTime[u] + this.unitStartOffset[u] >= this.nextSample) {
        this.unitVersion[u]++;
        train.rewindTo(this.unitLastPlaced[u]);
        this.pushNext(u);
      }
    }
    return ended;
  }

  /** Stops all light now: pending pulses are dropped and evoked spikes not yet begun are cancelled. */
  abortLight(): void {
    this.pendingPulses.length = 0;
    // Evoked spikes whose template has begun (start < next sample) are already in the samples.
    const from = this.nextSample + this.samplesBefore;
    for (let u = 0; u < this.trains.length; u++) {
      const train = this.trains[u];
      train.dropForcedFrom(from);
      if (this.unitPendingEvoked[u] && this.unitPendingTime[u] + this.unitStartOffset[u] >= this.nextSample) {
        // The drawn next spike is an evoked one that has not begun: it never happens; the
        // spontaneous train resumes from the last spike placed.
        this.unitVersion[u]++;
        train.rewindTo(this.unitLastPlaced[u]);
        this.pushNext(u);
      }
    }
  }

  /**
   * Generates the next `frames` frames into `out` (interleaved int16, frames × channels). Polls the
   * trigger sources first, so a trigger issued before this call takes effect in this block.
   */
  generate(out: Int16Array, frames: number): void {
    const C = this.channelCount;
    if (out.length < frames * C) throw new OptoloopError('E_INTERNAL', `sim: output holds ${out.length} samples, expected ≥ ${frames * C}`);
    for (let s = 0; s < this.triggerSources.length; s++) this.triggerSources[s].drainTriggers(this.nextSample, this);
    const end = this.nextSample + frames;
    let written = 0;
    while (this.nextSample < end) {
      while (this.pendingPulses.length && this.pendingPulses[0].applyAt <= this.nextSample) this.applyPulse(this.pendingPulses.shift()!);
      let chunkEnd = Math.min(end, this.nextSample + CHUNK_FRAMES);
      if (this.pendingPulses.length && this.pendingPulses[0].applyAt < chunkEnd) chunkEnd = this.pendingPulses[0].applyAt;
      this.generateChunk(out, written * C, chunkEnd - this.nextSample);
      written += chunkEnd - this.nextSample;
      this.nextSample = chunkEnd;
    }
  }

  private generateChunk(out: Int16Array, outOffset: number, frames: number): void {
    const C = this.channelCount;
    const B = this.nextSample;
    const E = B + frames;
    const kernels = this.kernels;
    kernels.fillNoise(frames);
    this.placeSpikes(E);
    this.writeActiveSpikes(B, E);
    if (this.artefactCount) this.writeArtefacts(B, E);
    const { commonNoiseUv, lineNoiseHz, lineNoiseUv, minCount, maxCount } = this.config;
    if (lineNoiseHz > 0 && lineNoiseUv > 0) {
      const w = (2 * Math.PI * lineNoiseHz) / this.sampleRateHz;
      const p1 = this.linePhase[0];
      const p3 = this.linePhase[1];
      const p5 = this.linePhase[2];
      const line = this.line;
      for (let f = 0; f < frames; f++) {
        const t = B + f;
        line[f] = lineNoiseUv * (Math.sin(w * t + p1) + 0.3 * Math.sin(3 * w * t + p3) + 0.15 * Math.sin(5 * w * t + p5));
      }
      addLine(this.acc, C, frames, line, this.lineGain);
    }
    // Noise shared by every channel (reference noise) is added while converting to counts.
    if (commonNoiseUv > 0) this.commonRng.fillGaussianScaled(this.common, 0, frames, this.commonScale, 1);
    else this.common.fill(0, 0, frames);
    kernels.quantize(frames, this.uvPerCount, minCount, maxCount);
    out.set(kernels.out.subarray(0, frames * C), outOffset);
  }

  /** Moves every pending spike whose template starts before E into the active list. */
  private placeSpikes(E: number): void {
    while (this.heapSize && this.heapStart[0] < E) {
      const u = this.heapUnit[0];
      const version = this.heapVersion[0];
      const time = this.heapTime[0];
      const amplitude = this.heapAmplitude[0];
      const evoked = this.heapEvoked[0];
      this.heapPop();
      if (version !== this.unitVersion[u]) continue; // superseded by a light response
      this.activate(u, time, amplitude);
      this.unitLastPlaced[u] = time;
      if (this.unitLogged[u]) this.groundTruth.addSpike(time, u, evoked === 1);
      this.pushNext(u);
    }
  }

  private activate(u: number, time: number, amplitude: number): void {
    if (this.activeCount === this.activeCapacity) {
      throw new OptoloopError('E_INTERNAL', `sim: more than ${this.activeCapacity} spikes overlap at sample ${time}: a unit fired faster than its refractory period allows`);
    }
    const a = this.activeCount++;
    this.activeUnit[a] = u;
    this.activeStart[a] = time + this.unitStartOffset[u];
    const channels = this.unitChannels[u];
    const shift = this.drift ? this.drift.displacementAt(time) : 0;
    const x = this.unitX[u];
    const y = this.unitY[u] - shift;
    const z = this.unitZ[u];
    const soma = this.unitSomaUv[u] * amplitude;
    const exponent = this.unitExponent[u];
    const base = a * this.maxFootprint;
    const lx = this.layout.xUm;
    const ly = this.layout.yUm;
    for (let k = 0; k < channels.length; k++) {
      const c = channels[k];
      const dx = lx[c] - x;
      const dy = ly[c] - y;
      this.activeGain[base + k] = soma * amplitudeFactor(Math.sqrt(dx * dx + dy * dy + z * z), exponent, this.config.decay);
    }
  }

  private writeActiveSpikes(B: number, E: number): void {
    const C = this.channelCount;
    const acc = this.acc;
    const maxFootprint = this.maxFootprint;
    let kept = 0;
    for (let a = 0; a < this.activeCount; a++) {
      const u = this.activeUnit[a];
      const start = this.activeStart[a];
      const L = this.unitLength[u];
      const f0 = start > B ? start : B;
      const f1 = start + L < E ? start + L : E;
      const channels = this.unitChannels[u];
      const template = this.unitTemplate[u];
      const gainBase = a * maxFootprint;
      if (f1 > f0) {
        const c0 = this.unitDenseStart[u];
        if (c0 >= 0) this.kernels.addDense(u, a, (f0 - B) * C + c0, f0 - start, f1 - f0, channels.length);
        else addTemplate(acc, C, (f0 - B) * C, template, f0 - start, f1 - f0, channels, this.activeGain, gainBase);
      }
      if (start + L > E) {
        // Still running into the next block: keep it, in order.
        if (kept !== a) {
          this.activeUnit[kept] = u;
          this.activeStart[kept] = start;
          this.activeGain.copyWithin(kept * maxFootprint, gainBase, gainBase + channels.length);
        }
        kept++;
      }
    }
    this.activeCount = kept;
  }

  private writeArtefacts(B: number, E: number): void {
    const C = this.channelCount;
    const acc = this.acc;
    const kernel = this.artefactKernel;
    const K = kernel.length;
    let kept = 0;
    for (let a = 0; a < this.artefactCount; a++) {
      const start = this.artefactStart[a];
      const scale = this.artefactScale[a];
      const f0 = Math.max(start, B);
      const f1 = Math.min(start + K, E);
      for (let f = f0; f < f1; f++) {
        const v = scale * kernel[f - start];
        let i = (f - B) * C;
        for (let c = 0; c < C; c++, i++) acc[i] += v * this.artefactGain[c];
      }
      if (start + K > E) {
        this.artefactStart[kept] = start;
        this.artefactScale[kept] = scale;
        kept++;
      }
    }
    this.artefactCount = kept;
  }

  private applyPulse(pulse: PendingPulse): void {
    const { applyAt, open, ...record } = pulse;
    this.groundTruth.addPulse(record);
    if (open) {
      open.pending = null;
      open.record = record;
      open.firstEvoked = new Float64Array(this.units.length).fill(NaN);
    }
    const earliest = Math.max(applyAt, this.nextSample) + this.samplesBefore;
    for (let u = 0; u < this.units.length; u++) {
      const unit = this.units[u];
      if (!unit.lightResponsive) continue;
      const times = evokedSpikes(pulse, unit.light, this.lightRngs[u], this.sampleRateHz, unit.firing.refractoryMs, earliest);
      if (times.length === 0) continue;
      if (open?.firstEvoked) open.firstEvoked[u] = times[0];
      const refractory = (unit.firing.refractoryMs * this.sampleRateHz) / 1000;
      const pending = this.unitPendingTime[u];
      const train = this.trains[u];
      if (!(pending === pending) || pending >= times[0] - refractory) {
        // The drawn spontaneous spike would fall in or after the evoked one: it never happens.
        this.unitVersion[u]++;
        this.unitPendingTime[u] = NaN;
        train.rewindTo(this.unitLastPlaced[u]);
        train.force(times);
        this.pushNext(u);
      } else {
        train.force(times);
      }
    }
    if (this.config.artefactUv > 0) {
      this.addArtefact(pulse.onsetSample, pulse.level);
      this.addArtefact(pulse.offsetSample, -pulse.level);
    }
  }

  private addArtefact(start: number, scale: number): void {
    if (this.artefactCount === this.artefactStart.length) {
      const s = new Float64Array(this.artefactStart.length * 2);
      s.set(this.artefactStart);
      this.artefactStart = s;
      const g = new Float32Array(this.artefactScale.length * 2);
      g.set(this.artefactScale);
      this.artefactScale = g;
    }
    // Keep the list in start order so that sums are independent of when pulses were added.
    let i = this.artefactCount++;
    while (i > 0 && this.artefactStart[i - 1] > start) {
      this.artefactStart[i] = this.artefactStart[i - 1];
      this.artefactScale[i] = this.artefactScale[i - 1];
      i--;
    }
    this.artefactStart[i] = start;
    this.artefactScale[i] = scale;
  }

  /** Draws unit u's next spike and puts it in the heap. */
  private pushNext(u: number): void {
    const train = this.trains[u];
    const time = Math.round(train.next());
    this.unitPendingTime[u] = time;
    this.unitPendingEvoked[u] = train.lastEvoked ? 1 : 0;
    this.heapPush(time + this.unitStartOffset[u], time, u, this.unitVersion[u], train.lastAmplitude, train.lastEvoked ? 1 : 0);
  }

  // ---- binary min-heap on (start, unit) ----
  private less(i: number, j: number): boolean {
    return this.heapStart[i] < this.heapStart[j] || (this.heapStart[i] === this.heapStart[j] && this.heapUnit[i] < this.heapUnit[j]);
  }

  private swap(i: number, j: number): void {
    swapF64(this.heapStart, i, j);
    swapF64(this.heapTime, i, j);
    swapI32(this.heapUnit, i, j);
    swapI32(this.heapVersion, i, j);
    const a = this.heapAmplitude[i];
    this.heapAmplitude[i] = this.heapAmplitude[j];
    this.heapAmplitude[j] = a;
    const e = this.heapEvoked[i];
    this.heapEvoked[i] = this.heapEvoked[j];
    this.heapEvoked[j] = e;
  }

  private heapPush(start: number, time: number, unit: number, version: number, amplitude: number, evoked: number): void {
    if (this.heapSize === this.heapStart.length) this.growHeap();
    let i = this.heapSize++;
    this.heapStart[i] = start;
    this.heapTime[i] = time;
    this.heapUnit[i] = unit;
    this.heapVersion[i] = version;
    this.heapAmplitude[i] = amplitude;
    this.heapEvoked[i] = evoked;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private heapPop(): void {
    const last = --this.heapSize;
    if (last > 0) this.swap(0, last);
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < last && this.less(l, m)) m = l;
      if (r < last && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }

  private growHeap(): void {
    const n = this.heapStart.length * 2;
    this.heapStart = growF64(this.heapStart, n);
    this.heapTime = growF64(this.heapTime, n);
    const u = new Int32Array(n);
    u.set(this.heapUnit);
    this.heapUnit = u;
    const v = new Int32Array(n);
    v.set(this.heapVersion);
    this.heapVersion = v;
    const a = new Float32Array(n);
    a.set(this.heapAmplitude);
    this.heapAmplitude = a;
    const e = new Uint8Array(n);
    e.set(this.heapEvoked);
    this.heapEvoked = e;
  }

}

interface PendingPulse extends LightPulse {
  readonly applyAt: number;
  readonly open: OpenPulse | null;
}

/** A pulse added by `addOpenPulse`, to be ended by `endOpenPulse`. */
export class OpenPulse {
  ended = false;
  /** @internal the generator's bookkeeping */
  pending: PendingPulse | null = null;
  /** @internal */
  record: LightPulse | null = null;
  /** @internal per unit, the first evoked spike this pulse drew (NaN: none) */
  firstEvoked: Float64Array | null = null;
  constructor(
    /** The pulse as it takes effect (its offset moves when it is ended). */
    public pulse: LightPulse,
  ) {}
}

/** What the generator needs of a unit's train. */
interface UnitTrain {
  next(): number;
  readonly lastAmplitude: number;
  readonly lastEvoked: boolean;
  force(times: readonly number[]): void;
  rewindTo(t: number): void;
  dropForcedFrom(sample: number): void;
}

/** A PkC_cs unit: its spikes are its cell's complex spikes (light does not drive climbing fibres). */
class ComplexSpikeReader implements UnitTrain {
  lastAmplitude = 1;
  readonly lastEvoked = false;
  constructor(private readonly clock: ComplexSpikeClock, private readonly rng: Rng) {}
  next(): number {
    this.lastAmplitude = Math.max(0.5, 1 + 0.04 * this.rng.gaussian());
    return this.clock.nextComplexSpike();
  }
  force(): void {}
  rewindTo(): void {}
  dropForcedFrom(): void {}
}

/** Adds `frames` frames of a frame-major template (from frame `templateOffset`) × each channel's gain into acc. */
function addTemplate(
  acc: Float32Array,
  channelCount: number,
  accOffset: number,
  template: Float32Array,
  templateOffset: number,
  frames: number,
  channels: Int32Array,
  gains: Float32Array,
  gainBase: number,
): void {
  const K = channels.length;
  let ti = templateOffset * K;
  let row = accOffset;
  for (let f = 0; f < frames; f++, row += channelCount) {
    for (let k = 0; k < K; k++, ti++) acc[row + channels[k]] += gains[gainBase + k] * template[ti];
  }
}

/**
 * A unit's template trimmed to the samples that matter (|v| ≥ 0.2 % of the trough on any
 * channel: below a hundredth of a µV even for the largest units) and stored frame-major.
 */
function trimTranspose(unit: SimUnit): { template: Float32Array; length: number; startOffset: number; channels: Int32Array; dense: boolean } {
  const K = unit.channels.length;
  const L = unit.templateLength;
  let first = L;
  let last = -1;
  for (let k = 0; k < K; k++) {
    for (let t = 0; t < L; t++) {
      if (Math.abs(unit.template[k * L + t]) >= 2e-3) {
        if (t < first) first = t;
        if (t > last) last = t;
      }
    }
  }
  if (last < first) {
    first = unit.samplesBefore;
    last = unit.samplesBefore;
  }
  const length = last - first + 1;
  // A footprint whose channels nearly fill a contiguous index range (the rule on Neuropixels,
  // where channel order follows depth) is stored over the whole range, zero rows in the gaps, so
  // that the SIMD kernel adds it; others keep their channels in ascending order.
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0; k < K; k++) {
    lo = Math.min(lo, unit.channels[k]);
    hi = Math.max(hi, unit.channels[k]);
  }
  const dense = hi - lo + 1 <= Math.max(K * 1.25, K + 2);
  const channels = dense ? Int32Array.from({ length: hi - lo + 1 }, (_, j) => lo + j) : Int32Array.from(unit.channels).sort();
  const rowOf = new Map<number, number>();
  unit.channels.forEach((c, k) => rowOf.set(c, k));
  const W = channels.length;
  const template = new Float32Array(length * W);
  for (let j = 0; j < W; j++) {
    const k = rowOf.get(channels[j]);
    if (k === undefined) continue;
    for (let t = 0; t < length; t++) template[t * W + j] = unit.template[k * L + first + t];
  }
  return { template, length, startOffset: first - unit.samplesBefore, channels, dense };
}

/** acc[f, c] += line[f] × gain[c] (mains interference; a free function: V8 optimises it better). */
function addLine(acc: Float32Array, channelCount: number, frames: number, line: Float32Array, gain: Float32Array): void {
  let i = 0;
  for (let f = 0; f < frames; f++) {
    const l = line[f];
    for (let c = 0; c < channelCount; c++, i++) acc[i] += l * gain[c];
  }
}

function swapF64(a: Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

function swapI32(a: Int32Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

function growF64(a: Float64Array, n: number): Float64Array {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}
