import type { SampleBlockBase } from '../core/sample-block.js';

/**
 * Maps host time to the stream's sample clock from the newest block (its last frame arrived at its
 * host receive time). Used to place a light pulse on the stream when the stimulator reports no
 * stream-clock onset: the error is the transport latency of the newest block (≈ one block plus
 * the device's buffering), which the daemon states in its docs; rigs that need better record the
 * light's TTL on an acquisition channel.
 */
export class StreamClock {
  private endSample = 0;
  private receiveNs = 0;
  private sampleRateHz = 0;

  update(block: SampleBlockBase): void {
    this.endSample = block.firstSampleIndex + block.frameCount;
    this.receiveNs = block.hostReceiveTimeNs;
    this.sampleRateHz = block.sampleRateHz;
  }

  get ready(): boolean {
    return this.sampleRateHz > 0;
  }

  /** The newest block's end, in samples. */
  get currentSample(): number {
    return this.endSample;
  }

  sampleAtHostNs(hostNs: number): number {
    return Math.round(this.endSample + ((hostNs - this.receiveNs) * this.sampleRateHz) / 1e9);
  }
}
