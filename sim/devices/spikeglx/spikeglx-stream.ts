import type { MonotonicClock } from '../../../src/core/clock.js';
import type { FrameProvider } from '../common/frame-provider.js';

export interface EmulatedImecStreamOptions {
  readonly apChannels: number;
  readonly lfChannels?: number;
  readonly sampleRateHz?: number;
  /** AP gain per channel (or one for all); V per count = 0.6 / 512 / gain (NP1.0, protocols §4.1). */
  readonly apGain?: number | readonly number[];
  readonly lfGain?: number;
  /** Samples kept for FETCH; older ones answer "Too late". */
  readonly bufferSamples?: number;
  /** Analog channels (AP then LF); default a SeededFrameGenerator. */
  readonly provider?: FrameProvider;
}

/**
 * One emulated imec stream (js 2 / −2, ip k): AP, LF and one SY channel, a sample count that
 * advances with the emulator's clock, and a ring of the most recent `bufferSamples` timepoints.
 * The SY word carries the 1 Hz sync square wave on bit 6, as SpikeGLX's imec sync does.
 */
export class EmulatedImecStream {
  readonly apChannels: number;
  readonly lfChannels: number;
  readonly sampleRateHz: number;
  readonly bufferSamples: number;
  readonly channelCount: number;
  /** Samples produced since the run started. */
  count = 0;
  private readonly ring: Int16Array;
  private readonly analog: Int16Array;
  private readonly apGains: Float64Array;
  private readonly lfGain: number;
  private startNs = 0;

  constructor(
    options: EmulatedImecStreamOptions,
    private readonly provider: FrameProvider,
    private readonly clock: MonotonicClock,
    private readonly speed: number,
  ) {
    this.apChannels = options.apChannels;
    this.lfChannels = options.lfChannels ?? 0;
    this.sampleRateHz = options.sampleRateHz ?? 30000;
    this.bufferSamples = options.bufferSamples ?? Math.round(this.sampleRateHz * 4);
    this.channelCount = this.apChannels + this.lfChannels + 1;
    if (provider.channelCount !== this.apChannels + this.lfChannels) {
      throw new RangeError(`EmulatedImecStream: the provider has ${provider.channelCount} channels, the stream ${this.apChannels} AP + ${this.lfChannels} LF`);
    }
    this.ring = new Int16Array(this.bufferSamples * this.channelCount);
    this.analog = new Int16Array(4096 * provider.channelCount);
    const g = options.apGain ?? 500;
    this.apGains = Float64Array.from({ length: this.apChannels }, (_, i) => (typeof g === 'number' ? g : g[i]));
    this.lfGain = options.lfGain ?? 250;
  }

  /** Clock time (ns) at which sample 0 of the run was due. */
  get runStartNs(): number {
    return this.startNs;
  }

  /** Starts the run: the count restarts at 0 now. */
  startRun(): void {
    this.startNs = this.clock.nowNs();
    this.count = 0;
  }

  /** Volts per count of a channel (SY: 1). */
  i16ToVolts(channel: number): number {
    if (channel < this.apChannels) return 0.6 / 512 / this.apGains[channel];
    if (channel < this.apChannels + this.lfChannels) return 0.6 / 512 / this.lfGain;
    return 1;
  }

  /** Produces the samples the clock says are due. */
  advance(): void {
    const due = Math.floor(((this.clock.nowNs() - this.startNs) / 1e9) * this.sampleRateHz * this.speed);
    const n = this.provider.channelCount;
    while (this.count < due) {
      const want = Math.min(due - this.count, 4096);
      const got = this.provider.read(this.analog, want);
      for (let i = 0; i < got; i++) {
        const sample = this.count + i;
        const slot = (sample % this.bufferSamples) * this.channelCount;
        this.ring.set(this.analog.subarray(i * n, (i + 1) * n), slot);
        this.ring[slot + n] = Math.floor(sample / this.sampleRateHz) % 2 === 0 ? 0x40 : 0;
      }
      this.count += got;
      if (got < want) break;
    }
  }

  /** Oldest sample still held. */
  get oldest(): number {
    return Math.max(0, this.count - this.bufferSamples);
  }

  /** Copies timepoints [from, from + samples) of the given channels (ascending) into `out`, timepoint-major. */
  copy(from: number, samples: number, channels: readonly number[], out: Int16Array): void {
    let k = 0;
    for (let s = 0; s < samples; s++) {
      const slot = ((from + s) % this.bufferSamples) * this.channelCount;
      for (const c of channels) out[k++] = this.ring[slot + c];
    }
  }
}
