/**
 * A unit's spike train, drawn one spike ahead: a renewal process whose ISI is an absolute
 * refractory period plus a gamma-distributed part (shape k sets regularity: CV = 1/√k of that
 * part), with bursts (a spike starts a burst with some probability; burst spikes follow at short
 * ISIs with attenuating amplitude) and a slow sinusoidal rate modulation. Light-evoked spikes are
 * forced into the train and the renewal restarts after them, as it would after any spike.
 *
 * Times are float sample indices; the generator rounds them when it places a spike.
 */
import type { Rng } from './rng.js';
import type { UnitFiring } from './population.js';

/** The Purkinje link: the complex spikes of one cell, shared by its PkC_cs and PkC_ss trains. */
export class ComplexSpikeClock {
  /** Upcoming and recent complex-spike times (samples), ascending. */
  private times: number[] = [];
  private consumed = 0;
  constructor(private readonly train: SpikeTrain) {}

  private ensureThrough(t: number): void {
    while (this.times.length === 0 || this.times[this.times.length - 1] <= t) this.times.push(this.train.next());
  }

  /** The first complex spike in (after, upTo], or NaN. */
  firstIn(after: number, upTo: number): number {
    this.ensureThrough(upTo);
    for (let i = 0; i < this.times.length; i++) {
      const t = this.times[i];
      if (t > upTo) break;
      if (t > after) return t;
    }
    return NaN;
  }

  /** The PkC_cs unit reads its spikes here, in order. */
  nextComplexSpike(): number {
    if (this.consumed >= this.times.length) this.times.push(this.train.next());
    const t = this.times[this.consumed++];
    // Forget what both readers are past (the simple-spike train only ever looks forward).
    if (this.consumed > 64) {
      this.times.splice(0, this.consumed - 8);
      this.consumed = 8;
    }
    return t;
  }
}

export class SpikeTrain {
  /** Time of the last spike drawn (samples). */
  private last: number;
  private burstLeft = 0;
  private amplitude = 1;
  private forced: number[] = [];
  /** The rate fluctuation's OU state (standard normal) and the time it was last advanced to. */
  private ouState: number;
  private ouTime: number;
  private readonly msToSamples: number;
  /** Amplitude scale of the spike last returned by next(). */
  lastAmplitude = 1;
  /** Whether the spike last returned by next() was light-evoked. */
  lastEvoked = false;
  /** When set, this train pauses after each complex spike of its cell (PkC_ss). */
  pauseClock: ComplexSpikeClock | null = null;
  pauseMs: readonly [number, number] = [10, 25];

  constructor(
    private readonly firing: UnitFiring,
    private readonly rng: Rng,
    private readonly sampleRateHz: number,
    startSample: number,
  ) {
    this.msToSamples = sampleRateHz / 1000;
    this.ouState = firing.fluctuationSd > 0 ? this.rng.gaussian() : 0;
    this.ouTime = startSample;
    // Start in the stationary regime: the first spike falls anywhere in a mean ISI.
    this.last = startSample - this.rng.uniform() * (sampleRateHz / Math.max(firing.rateHz, 0.01));
  }

  /**
   * Rate at time t (samples): the mean × the slow sinusoidal modulation × the log-normal
   * Ornstein–Uhlenbeck fluctuation. Asked at increasing times only (each spike's).
   */
  rateAt(t: number): number {
    const f = this.firing;
    const phase = (2 * Math.PI * t) / (f.modulationPeriodS * this.sampleRateHz) + f.modulationPhase;
    let rate = f.rateHz * Math.max(0.05, 1 + f.modulationDepth * Math.sin(phase));
    if (f.fluctuationSd > 0) {
      const dt = Math.max(0, t - this.ouTime);
      const decay = Math.exp(-dt / (f.fluctuationTimeConstantS * this.sampleRateHz));
      this.ouState = this.ouState * decay + Math.sqrt(1 - decay * decay) * this.rng.gaussian();
      this.ouTime = Math.max(this.ouTime, t);
      const sd = f.fluctuationSd;
      // Median 1. Each ISI is drawn at the rate of its start: fluctuations fast against the ISIs
      // lower the mean rate by e^(σ²/2), slow ones raise it by as much; ours sit in between (their
      // correlation times are of the order of the ISIs), which keeps the mean near rateHz.
      rate *= Math.exp(sd * this.ouState);
    }
    return rate;
  }

  /** Draws the next spike time (samples). */
  next(): number {
    const f = this.firing;
    const refractory = f.refractoryMs * this.msToSamples;
    while (this.forced.length) {
      const t = this.forced.shift()!;
      if (t < this.last + refractory) continue;
      this.last = t;
      this.burstLeft = 0;
      this.amplitude = 1;
      this.lastEvoked = true;
      this.lastAmplitude = this.jitterAmplitude(1);
      return t;
    }
    this.lastEvoked = false;
    let t: number;
    if (this.burstLeft > 0) {
      this.burstLeft--;
      t = this.last + Math.max(refractory, f.burstIsiMs * this.msToSamples * (0.6 + 0.8 * this.rng.uniform()));
      this.amplitude *= f.burstAmplitudeDecay;
    } else {
      // Bursts add spikes: burst-starting events come rarer so that the mean rate stays rateHz.
      const spikesPerEvent = 1 + f.burstProbability * Math.max(1, f.burstSpikesMean);
      const meanIsi = (this.sampleRateHz * spikesPerEvent) / this.rateAt(this.last);
      if (f.recoveryTauMs > 0) {
        t = this.last + refractory + this.recoveringHazardIsi(meanIsi - refractory, f.recoveryTauMs * this.msToSamples);
      } else {
        const gammaMean = Math.max(meanIsi - refractory, 0.2 * refractory);
        t = this.last + refractory + (gammaMean * this.rng.gamma(f.gammaShape)) / f.gammaShape;
      }
      this.amplitude = 1;
      if (f.burstProbability > 0 && this.rng.bernoulli(f.burstProbability)) {
        this.burstLeft = 1 + this.rng.geometric(1 / Math.max(1, f.burstSpikesMean));
      }
    }
    if (this.pauseClock) {
      // A complex spike between the last simple spike and this one resets the simple-spike train:
      // the next simple spike comes only after the pause.
      for (;;) {
        // (A simple spike closer than the refractory period before a complex spike is the same
        // cell firing twice at once: the complex spike takes its place.)
        const cs = this.pauseClock.firstIn(this.last, t + refractory);
        if (cs !== cs) break;
        this.burstLeft = 0;
        this.amplitude = 1;
        const pause = this.rng.range(this.pauseMs[0], this.pauseMs[1]) * this.msToSamples;
        this.last = cs;
        t = cs + pause;
      }
    }
    this.last = t;
    this.lastAmplitude = this.jitterAmplitude(this.amplitude);
    return t;
  }

  /** Light: these spikes (ascending, samples) come next, then the renewal resumes after the last. */
  force(times: readonly number[]): void {
    this.forced = times.slice();
  }

  /** Drops forced spikes at or after `sample` (emergency stop of the light). */
  dropForcedFrom(sample: number): void {
    this.forced = this.forced.filter((t) => t < sample);
  }

  /** The latest spike drawn, for the generator's refractory bookkeeping. */
  get lastSpike(): number {
    return this.last;
  }

  /** Rewinds the train to `t` after the generator discarded a drawn but unplaced spike. */
  rewindTo(t: number): void {
    this.last = t;
    this.burstLeft = 0;
    this.amplitude = 1;
  }

  /**
   * An interval with hazard λ(1 − e^(−s/τ)) and mean ≈ `mean` (samples): the integrated hazard
   * H(s) = λ(s − τ(1 − e^(−s/τ))) equals an Exp(1) draw, solved by Newton's method (H is convex
   * and increasing, so it converges from s = E/λ + τ in a few steps). Mean ≈ 1/λ + τ, so
   * λ = 1/(mean − τ), kept ≥ 1/(4τ) for very high rates.
   */
  private recoveringHazardIsi(mean: number, tau: number): number {
    const lambda = 1 / Math.max(mean - tau, 0.25 * tau, 1);
    const e = this.rng.exponential();
    let s = e / lambda + tau;
    for (let k = 0; k < 30; k++) {
      const decay = Math.exp(-s / tau);
      const h = lambda * (s - tau * (1 - decay)) - e;
      const dh = lambda * (1 - decay);
      const step = h / Math.max(dh, 1e-12);
      s -= step;
      if (s < 0) s = 0;
      if (Math.abs(step) < 0.01) break;
    }
    return s;
  }

  private jitterAmplitude(scale: number): number {
    // Spike-to-spike amplitude variability of a few % (assumption), never negative.
    return scale * Math.max(0.5, 1 + 0.04 * this.rng.gaussian());
  }
}
