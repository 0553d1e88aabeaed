/**
 * The simulator's WebAssembly kernels (sim/assembly/sim_kernels.ts): thermal noise straight into
 * the accumulation buffer, templates added with SIMD where a unit's footprint is a contiguous
 * channel range, and the µV → counts conversion. Every buffer lives in the kernel's linear memory,
 * laid out once at set-up (nothing grows later, so the views below stay valid); the generator adds
 * the rest (scattered footprints, artefacts, mains) through the Float32Array views.
 */
import { OptoloopError } from '../src/core/errors.js';
import { WasmArena, wasmModule } from '../src/wasm/kernel.js';
import { NoiseThread, type NoiseThreadSettings } from './noise-thread.js';
import { Rng, zigF, zigX, zigXScaled } from './rng.js';

interface Exports {
  fillGaussian(state: number, tables: number, out: number, n: number, scale: number, scaleLength: number): void;
  quantize(acc: number, out: number, frames: number, channels: number, common: number, inv: number, lo: number, hi: number): void;
  addDense(acc: number, channels: number, accOffset: number, template: number, tOffset: number, frames: number, width: number, gains: number): void;
}

export interface KernelLayout {
  readonly channelCount: number;
  readonly capacityFrames: number;
  readonly noiseSigmaUv: Float32Array;
  readonly noise: Rng;
  /** Frame-major templates of the units whose footprint is a contiguous range (null for the others). */
  readonly denseTemplates: readonly (Float32Array | null)[];
  /** Active spikes at once × gains per spike. */
  readonly activeCapacity: number;
  readonly gainsPerSpike: number;
}

export class SimKernels {
  private readonly arena = new WasmArena<Exports>('sim_kernels');
  private readonly channelCount: number;
  private readonly statePtr: number;
  private readonly tablesPtr: number;
  private readonly accPtr: number;
  private readonly outPtr: number;
  private readonly commonPtr: number;
  private readonly scalePtr: number;
  private readonly gainsPtr: number;
  private readonly gainsPerSpike: number;
  /** Where each dense template starts in linear memory (−1: not dense). */
  readonly templatePtr: Int32Array;
  /** µV accumulation buffer, frames × channels. */
  readonly acc: Float32Array;
  /** Counts written by quantize(). */
  readonly out: Int16Array;
  /** Per-frame value added to every channel by quantize(). */
  readonly common: Float32Array;
  /** Gains of the active spikes, activeCapacity × gainsPerSpike. */
  readonly gains: Float32Array;
  /** Where the noise comes from once it was handed to a worker (startNoiseThread). */
  private noiseThread: NoiseThread | null = null;
  private noiseHandedOff = false;

  constructor(layout: KernelLayout) {
    const C = (this.channelCount = layout.channelCount);
    const n = C * layout.capacityFrames;
    this.gainsPerSpike = layout.gainsPerSpike;
    this.statePtr = this.arena.alloc(16);
    this.tablesPtr = this.arena.alloc((129 + 128 + 129) * 8);
    this.scalePtr = this.arena.alloc(C * 4);
    this.commonPtr = this.arena.alloc(layout.capacityFrames * 4);
    this.accPtr = this.arena.alloc(n * 4);
    this.outPtr = this.arena.alloc(n * 2);
    this.gainsPtr = this.arena.alloc(layout.activeCapacity * layout.gainsPerSpike * 4);
    this.templatePtr = Int32Array.from(layout.denseTemplates, (t) => (t ? this.arena.alloc(t.length * 4) : -1));
    // Views only after the last allocation: growing memory detaches earlier ones.
    const tables = this.arena.f64(this.tablesPtr, 129 + 128 + 129);
    tables.set(zigX, 0);
    tables.set(zigXScaled, 129);
    tables.set(zigF, 129 + 128);
    this.arena.f32(this.scalePtr, C).set(layout.noiseSigmaUv);
    layout.noise.exportState(this.arena.u32(this.statePtr, 4));
    layout.denseTemplates.forEach((t, u) => t && this.arena.f32(this.templatePtr[u], t.length).set(t));
    this.acc = this.arena.f32(this.accPtr, n);
    this.out = this.arena.i16(this.outPtr, n);
    this.common = this.arena.f32(this.commonPtr, layout.capacityFrames);
    this.gains = this.arena.f32(this.gainsPtr, layout.activeCapacity * layout.gainsPerSpike);
  }

  /** acc[0 … frames × channels) = N(0, σ_c²) noise, continuing the noise stream (drawn here, or by the noise thread). */
  fillNoise(frames: number): void {
    if (this.noiseThread) this.noiseThread.take(this.acc, frames);
    else if (this.noiseHandedOff) throw new OptoloopError('E_INTERNAL', 'sim: the noise thread was closed (or is still starting); this generator can draw no noise', { stage: 'sim' });
    else this.arena.exports.fillGaussian(this.statePtr, this.tablesPtr, this.accPtr, frames * this.channelCount, this.scalePtr, this.channelCount);
  }

  /**
   * Hands the rest of the noise stream to a worker thread (sim/noise-thread.ts): it continues from
   * this kernel's state, so the samples do not change. One-way: once closed, no more noise.
   */
  async startNoiseThread(options: NoiseThreadSettings = {}): Promise<NoiseThread> {
    if (this.noiseHandedOff) throw new OptoloopError('E_INTERNAL', 'sim: the noise stream was already handed to a thread', { stage: 'sim' });
    this.noiseHandedOff = true;
    const C = this.channelCount;
    try {
      this.noiseThread = await NoiseThread.start({
        ...options,
        module: wasmModule('sim_kernels'),
        channelCount: C,
        sigmaUv: this.arena.f32(this.scalePtr, C).slice(),
        tables: this.arena.f64(this.tablesPtr, 129 + 128 + 129).slice(),
        state: this.arena.u32(this.statePtr, 4).slice(),
      });
    } catch (error) {
      // Nothing was drawn from this kernel's state meanwhile: it may go on drawing here.
      this.noiseHandedOff = false;
      throw error;
    }
    return this.noiseThread;
  }

  /** Stops the noise thread, if any (the generator can draw no more noise after it). */
  async closeNoiseThread(): Promise<void> {
    const thread = this.noiseThread;
    this.noiseThread = null;
    await thread?.close();
  }

  /** Adds a dense template (unit u) × the gains of active slot `slot` into acc (see addDense). */
  addDense(u: number, slot: number, accOffset: number, templateOffset: number, frames: number, width: number): void {
    this.arena.exports.addDense(this.accPtr, this.channelCount, accOffset, this.templatePtr[u], templateOffset, frames, width, this.gainsPtr + slot * this.gainsPerSpike * 4);
  }

  /** out = clamp(round((acc + common[f]) / uvPerCount), minCount, maxCount). */
  quantize(frames: number, uvPerCount: number, minCount: number, maxCount: number): void {
    // The kernel floors (x + 0.5) after clamping it to [minCount, maxCount + 0.999].
    this.arena.exports.quantize(this.accPtr, this.outPtr, frames, this.channelCount, this.commonPtr, 1 / uvPerCount, minCount, maxCount + 0.999);
  }
}
