import { SeededRandom } from '../../src/closedloop/prng.js';

/**
 * Synthetic BCI data with a known relationship: a 2-D hand moving with smooth random velocity
 * (velocity AR(1) at 1 kHz, position its integral), and units cosine-tuned to velocity
 * (rate = baseline + gain · (cos φ vx + sin φ vy), ≥ 0), firing as Poisson processes.
 */
export interface BciWorld {
  readonly spikesS: Float64Array[];
  readonly unitIds: number[];
  readonly behaviourTimesS: Float64Array;
  /** x, y, vx, vy sampled every behaviourStepMs. */
  readonly columns: { x: Float64Array; y: Float64Array; vx: Float64Array; vy: Float64Array };
  /** The velocity AR coefficient per ms. */
  readonly velocityPole: number;
}

export function makeBciWorld(seed: number, durationS: number, units: number, behaviourStepMs = 10): BciWorld {
  const rand = new SeededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand.next())) * Math.cos(2 * Math.PI * rand.next());
  const pole = 0.997;
  const steps = Math.round(durationS * 1000);
  const tuning = Array.from({ length: units }, () => ({ phi: rand.uniform(0, 2 * Math.PI), base: rand.uniform(10, 30), gain: rand.uniform(5, 15) }));
  const spikes: number[][] = tuning.map(() => []);
  const samples = Math.floor(steps / behaviourStepMs);
  const t = new Float64Array(samples);
  const x = new Float64Array(samples);
  const y = new Float64Array(samples);
  const vxs = new Float64Array(samples);
  const vys = new Float64Array(samples);
  let vx = 0;
  let vy = 0;
  let px = 0;
  let py = 0;
  const noise = Math.sqrt(1 - pole * pole); // stationary velocity SD 1
  for (let ms = 0; ms < steps; ms++) {
    vx = pole * vx + noise * gauss();
    vy = pole * vy + noise * gauss();
    px += vx / 1000;
    py += vy / 1000;
    tuning.forEach((u, i) => {
      const rate = Math.max(0, u.base + u.gain * (Math.cos(u.phi) * vx + Math.sin(u.phi) * vy));
      if (rand.next() < rate / 1000) spikes[i].push((ms + rand.next()) / 1000);
    });
    if (ms % behaviourStepMs === 0) {
      const k = ms / behaviourStepMs;
      t[k] = ms / 1000;
      x[k] = px;
      y[k] = py;
      vxs[k] = vx;
      vys[k] = vy;
    }
  }
  return {
    spikesS: spikes.map((s) => Float64Array.from(s)),
    unitIds: tuning.map((_, i) => i + 1),
    behaviourTimesS: t,
    columns: { x, y, vx: vxs, vy: vys },
    velocityPole: pole,
  };
}
