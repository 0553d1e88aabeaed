import type { SnippetBatch } from '../../src/core/spikes.js';
import { SeededRandom } from '../../src/closedloop/prng.js';

/**
 * A small seeded ground-truth world for optotagging tests: units firing as Poisson processes with a
 * dead time, some of which answer light (known latency, jitter, reliability), some of which are
 * silenced by it, answer too late to be direct, or carry a light artefact with a foreign waveform.
 * It emits spike batches with multi-channel snippets, block by block, on a sample clock.
 */
export type SynthKind = 'responder' | 'none' | 'inhibited' | 'late' | 'artefact';

export interface SynthUnit {
  readonly id: number;
  readonly kind: SynthKind;
  readonly rateHz: number;
  readonly reliability: number;
  readonly latencyMs: number;
  readonly jitterMs: number;
  readonly channel: number;
}

export interface WorldOptions {
  readonly seed: number;
  readonly sampleRateHz?: number;
  readonly counts: Record<SynthKind, number>;
  readonly noiseUv?: number;
}

const ROWS = 4;
const BEFORE = 10;
const AFTER = 20;
const LENGTH = BEFORE + 1 + AFTER;

export class OptotagWorld {
  readonly units: SynthUnit[] = [];
  readonly sampleRateHz: number;
  private readonly rand: SeededRandom;
  private readonly nextSpike: Float64Array;
  private readonly templates: Float32Array[];
  private readonly artefactTemplate: Float32Array;
  private readonly deadSamples: number;
  /** Evoked events waiting for their block: [sample, unit index, 1 if artefact]. */
  private pending: [number, number, number][] = [];
  private readonly lightOnsets: number[] = [];
  readonly batch: SnippetBatch;
  private readonly noiseUv: number;

  constructor(options: WorldOptions) {
    this.sampleRateHz = options.sampleRateHz ?? 30_000;
    this.rand = new SeededRandom(options.seed);
    this.noiseUv = options.noiseUv ?? 8;
    let id = 0;
    for (const kind of ['responder', 'none', 'inhibited', 'late', 'artefact'] as const) {
      for (let i = 0; i < options.counts[kind]; i++) {
        // Rates log-uniform over 1 … 40 Hz.
        const rateHz = Math.exp(this.rand.uniform(Math.log(1), Math.log(40)));
        this.units.push({
          id: id,
          kind,
          rateHz,
          reliability: kind === 'responder' ? this.rand.uniform(0.4, 0.95) : kind === 'late' ? 0.6 : kind === 'artefact' ? 0.9 : 0,
          latencyMs: kind === 'late' ? this.rand.uniform(15, 30) : kind === 'artefact' ? this.rand.uniform(1.2, 2.5) : this.rand.uniform(2, 7),
          jitterMs: kind === 'artefact' ? 0.1 : this.rand.uniform(0.3, 2),
          channel: (id * 3) % 60,
        });
        id++;
      }
    }
    this.deadSamples = 0.002 * this.sampleRateHz;
    this.nextSpike = new Float64Array(this.units.length);
    this.units.forEach((u, i) => (this.nextSpike[i] = this.isi(u)));
    this.templates = this.units.map(() => this.makeTemplate());
    // A light artefact: a slow, same-sign deflection on every row, nothing like a spike.
    this.artefactTemplate = new Float32Array(ROWS * LENGTH);
    for (let r = 0; r < ROWS; r++) for (let t = 0; t < LENGTH; t++) this.artefactTemplate[r * LENGTH + t] = -60 + 4 * t - (t === BEFORE ? 20 : 0);
    const capacity = 4096;
    this.batch = {
      streamId: 'sim0',
      sampleRateHz: this.sampleRateHz,
      count: 0,
      peakSampleIndex: new Float64Array(capacity),
      peakChannel: new Int32Array(capacity),
      amplitudeUv: new Float32Array(capacity),
      unitId: new Int32Array(capacity),
      sourceReceiveTimeNs: 0,
      samplesBefore: BEFORE,
      samplesAfter: AFTER,
      snippetLength: LENGTH,
      neighbourCapacity: ROWS,
      channels: new Int32Array(capacity * ROWS),
      waveformsUv: new Float32Array(capacity * ROWS * LENGTH),
    };
  }

  private isi(u: SynthUnit): number {
    return this.deadSamples + (-Math.log(1 - this.rand.next()) / u.rateHz) * this.sampleRateHz;
  }

  private makeTemplate(): Float32Array {
    const t = new Float32Array(ROWS * LENGTH);
    const amplitude = this.rand.uniform(80, 200);
    const widthSamples = this.rand.uniform(4, 12);
    for (let r = 0; r < ROWS; r++) {
      const scale = r === 0 ? 1 : this.rand.uniform(0.1, 0.6);
      for (let k = 0; k < LENGTH; k++) {
        const x = k - BEFORE;
        const trough = -amplitude * Math.exp(-(x * x) / 4);
        const peak = 0.35 * amplitude * Math.exp(-((x - widthSamples) ** 2) / (widthSamples * 2));
        t[r * LENGTH + k] = scale * (trough + peak);
      }
    }
    return t;
  }

  private gauss(): number {
    return Math.sqrt(-2 * Math.log(1 - this.rand.next())) * Math.cos(2 * Math.PI * this.rand.next());
  }

  /** Light came on at `onsetSample`: schedules every unit's answer to it. */
  light(onsetSample: number): void {
    this.lightOnsets.push(onsetSample);
    const perMs = this.sampleRateHz / 1000;
    this.units.forEach((u, i) => {
      if (u.kind === 'responder' || u.kind === 'late' || u.kind === 'artefact') {
        if (this.rand.next() < u.reliability) {
          const latency = Math.max(0.3, u.latencyMs + u.jitterMs * this.gauss());
          this.pending.push([onsetSample + latency * perMs, i, u.kind === 'artefact' ? 1 : 0]);
        }
      }
    });
    this.pending.sort((a, b) => a[0] - b[0]);
  }

  private inhibitedAt(sample: number): boolean {
    const perMs = this.sampleRateHz / 1000;
    for (let k = this.lightOnsets.length - 1; k >= 0 && k >= this.lightOnsets.length - 3; k--) {
      const rel = (sample - this.lightOnsets[k]) / perMs;
      if (rel >= 0 && rel < 40) return true;
    }
    return false;
  }

  /** The spikes whose peaks fall in [from, to), as a borrowed batch. */
  block(from: number, to: number): SnippetBatch {
    const events: [number, number, number][] = [];
    this.units.forEach((u, i) => {
      while (this.nextSpike[i] < to) {
        const t = Math.floor(this.nextSpike[i]);
        this.nextSpike[i] += this.isi(u);
        if (t < from) continue;
        if (u.kind === 'inhibited' && this.inhibitedAt(t)) continue;
        events.push([t, i, 0]);
      }
    });
    while (this.pending.length && this.pending[0][0] < to) {
      const e = this.pending.shift()!;
      if (e[0] >= from) events.push([Math.floor(e[0]), e[1], e[2]]);
    }
    events.sort((a, b) => a[0] - b[0]);
    const b = this.batch;
    b.count = events.length;
    events.forEach(([t, i, artefact], k) => {
      const u = this.units[i];
      b.peakSampleIndex[k] = t;
      b.unitId[k] = u.id;
      b.peakChannel[k] = u.channel;
      const template = artefact ? this.artefactTemplate : this.templates[i];
      for (let r = 0; r < ROWS; r++) {
        b.channels[k * ROWS + r] = u.channel + r;
        for (let s = 0; s < LENGTH; s++) b.waveformsUv[(k * ROWS + r) * LENGTH + s] = template[r * LENGTH + s] + this.noiseUv * this.gauss();
      }
      b.amplitudeUv[k] = template[BEFORE];
    });
    return b;
  }
}
