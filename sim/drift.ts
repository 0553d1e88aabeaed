/**
 * Slow probe drift: the probe's displacement along its shank (µm) as a function of the sample
 * index — a slow sinusoid plus a mean-reverting random walk (Ornstein–Uhlenbeck, time constant
 * 300 s, so that it wanders by several µm but stays bounded over hours) sampled every 100 ms and
 * interpolated. Deterministic per seed; queries must not go back more than one grid step behind
 * the latest one (the generator asks in time order).
 */
import { Rng } from './rng.js';

export interface DriftOptions {
  /** Peak of the sinusoidal component (µm). */
  readonly amplitudeUm: number;
  readonly periodS: number;
  /** Random-walk diffusion (µm per √s); the walk's stationary SD is this × √150 s. */
  readonly randomWalkUmPerSqrtS: number;
}

const GRID_S = 0.1;
const REVERSION_S = 300;

export class ProbeDrift {
  private readonly rng: Rng;
  private readonly gridSamples: number;
  /** `current` is the walk at grid point `gridIndex`, `previous` at the one before (W₀ = 0). */
  private gridIndex = 1;
  private previous = 0;
  private current: number;

  constructor(private readonly options: DriftOptions, private readonly sampleRateHz: number, seed: number) {
    this.rng = new Rng(seed, 'drift');
    this.gridSamples = Math.round(GRID_S * sampleRateHz);
    this.current = this.step(0);
  }

  /** Largest displacement it can plausibly reach in `durationS` (for template footprints). */
  static bound(options: DriftOptions | null, durationS: number): number {
    if (!options) return 0;
    const stationarySd = options.randomWalkUmPerSqrtS * Math.sqrt(REVERSION_S / 2);
    const walkSd = Math.min(stationarySd, options.randomWalkUmPerSqrtS * Math.sqrt(Math.max(durationS, 1)));
    return options.amplitudeUm + 4 * walkSd;
  }

  private step(previous: number): number {
    return previous * (1 - GRID_S / REVERSION_S) + this.options.randomWalkUmPerSqrtS * Math.sqrt(GRID_S) * this.rng.gaussian();
  }

  /** Displacement (µm) at sample t. */
  displacementAt(t: number): number {
    const k = Math.floor(t / this.gridSamples);
    while (this.gridIndex < k + 1) {
      this.previous = this.current;
      this.current = this.step(this.current);
      this.gridIndex++;
    }
    const walk = k === this.gridIndex - 1 ? this.previous + (this.current - this.previous) * (t / this.gridSamples - k) : this.previous;
    const o = this.options;
    return o.amplitudeUm * Math.sin((2 * Math.PI * t) / (o.periodS * this.sampleRateHz)) + walk;
  }
}
