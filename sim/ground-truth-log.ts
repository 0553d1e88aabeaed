/**
 * What the simulator actually emitted, kept as it is generated: every spike of every foreground
 * unit (sample index of its trough on the peak channel, unit id, light-evoked or not) and every
 * light pulse. Growable typed arrays: appending allocates only when the capacity doubles.
 */
import type { LightPulse } from './light.js';

export class GroundTruthLog {
  spikeCount = 0;
  spikeSample = new Float64Array(1 << 16);
  spikeUnit = new Int32Array(1 << 16);
  spikeEvoked = new Uint8Array(1 << 16);
  readonly pulses: LightPulse[] = [];
  /** When false nothing is kept (a live source that runs for hours does not grow without bound). */
  enabled = true;

  addSpike(sample: number, unit: number, evoked: boolean): void {
    if (!this.enabled) return;
    if (this.spikeCount === this.spikeSample.length) this.grow();
    const i = this.spikeCount++;
    this.spikeSample[i] = sample;
    this.spikeUnit[i] = unit;
    this.spikeEvoked[i] = evoked ? 1 : 0;
  }

  addPulse(pulse: LightPulse): void {
    if (this.enabled) this.pulses.push(pulse);
  }

  /** Spike samples of one unit, ascending. */
  spikesOf(unit: number): Float64Array {
    let n = 0;
    for (let i = 0; i < this.spikeCount; i++) if (this.spikeUnit[i] === unit) n++;
    const out = new Float64Array(n);
    n = 0;
    for (let i = 0; i < this.spikeCount; i++) if (this.spikeUnit[i] === unit) out[n++] = this.spikeSample[i];
    return out.sort();
  }

  /** Indices of all spikes ordered by (sample, unit). */
  sortedOrder(): Uint32Array {
    const order = new Uint32Array(this.spikeCount);
    for (let i = 0; i < order.length; i++) order[i] = i;
    return order.sort((a, b) => this.spikeSample[a] - this.spikeSample[b] || this.spikeUnit[a] - this.spikeUnit[b]);
  }

  private grow(): void {
    const n = this.spikeSample.length * 2;
    const s = new Float64Array(n);
    s.set(this.spikeSample);
    this.spikeSample = s;
    const u = new Int32Array(n);
    u.set(this.spikeUnit);
    this.spikeUnit = u;
    const e = new Uint8Array(n);
    e.set(this.spikeEvoked);
    this.spikeEvoked = e;
  }
}
