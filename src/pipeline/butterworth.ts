/**
 * Butterworth band-pass design, as second-order sections (SOS), in double precision.
 *
 * The design, step by step (standard analog-prototype method; see e.g. Oppenheim & Schafer,
 * "Discrete-Time Signal Processing", §7.1–7.2):
 *
 * 1. **Pre-warping.** The bilinear transform maps the analog frequency Ω to the digital frequency
 *    ω = 2·atan(Ω / 2fs), squeezing the whole analog axis into 0 … Nyquist. So that the digital
 *    −3 dB corners land exactly on `lowHz` and `highHz`, the analog corners are set to
 *    Ω₁ = 2fs·tan(π·lowHz/fs) and Ω₂ = 2fs·tan(π·highHz/fs).
 * 2. **Analog prototype.** The order-N Butterworth low-pass with a 1 rad/s corner has its N poles
 *    evenly spaced on the left half of the unit circle: p_k = exp(iπ(2k + N + 1)/(2N)),
 *    k = 0 … N−1, and |H(iΩ)|² = 1 / (1 + Ω^2N).
 * 3. **Low-pass → band-pass.** Substituting s → (s² + Ω₀²)/(s·B), with centre Ω₀ = √(Ω₁Ω₂) and
 *    bandwidth B = Ω₂ − Ω₁, turns each prototype pole p into the two roots of
 *    s² − p·B·s + Ω₀² = 0 and adds a zero at s = 0 for each (N at 0, N at ∞). The band-pass has
 *    2N poles, unit gain at Ω₀, and |H(iΩ)|² = 1 / (1 + ((Ω² − Ω₀²)/(Ω·B))^2N): −3 dB at Ω₁ and Ω₂.
 * 4. **Bilinear transform.** Each analog pole s maps to the digital pole z = (2fs + s)/(2fs − s)
 *    (left half plane → inside the unit circle, so the filter is stable); zeros at s = 0 map to
 *    z = 1 and zeros at s = ∞ to z = −1.
 * 5. **Sections.** Each complex pole is paired with its conjugate (a real prototype pole, for odd
 *    N, gives a pair of its own), one pair per section, together with one zero at z = 1 and one at
 *    z = −1: H_k(z) = g_k (1 − z⁻²) / (1 + a1 z⁻¹ + a2 z⁻²), a1 = −2·Re z_p, a2 = |z_p|². That is N
 *    sections for a band-pass whose edges are each of order N. Each g_k makes |H_k| = 1 at the
 *    digital centre ω₀ = 2·atan(Ω₀/2fs), so the cascade has exactly the analog unit gain there and
 *    no section's intermediate signal grows large (which keeps float32 evaluation well scaled).
 *
 * Validity: 0 < lowHz < highHz < fs/2. Callers turn a violation into E_OPTIONS_INVALID naming the
 * field; this function throws a RangeError as a last line of defence.
 */

/** Coefficients of one section, a0 = 1: y = b0·x + b1·x₋₁ + b2·x₋₂ − a1·y₋₁ − a2·y₋₂. */
export interface Biquad {
  readonly b0: number;
  readonly b1: number;
  readonly b2: number;
  readonly a1: number;
  readonly a2: number;
}

export interface BandpassDesign {
  readonly sections: readonly Biquad[];
  /** Digital poles of each section (one of each conjugate pair), for stability checks. */
  readonly poles: readonly { readonly re: number; readonly im: number }[];
  /** Pre-warped analog corners and centre, rad/s. */
  readonly lowRadS: number;
  readonly highRadS: number;
  readonly centreRadS: number;
  readonly sampleRateHz: number;
  readonly order: number;
}

export function designButterworthBandpass(lowHz: number, highHz: number, sampleRateHz: number, order: number): BandpassDesign {
  const nyquistHz = sampleRateHz / 2;
  if (!(lowHz > 0 && lowHz < highHz && highHz < nyquistHz)) {
    throw new RangeError(`butterworth: expected 0 < lowHz < highHz < ${nyquistHz} Hz, got ${lowHz} and ${highHz}`);
  }
  if (!(Number.isInteger(order) && order >= 1)) throw new RangeError(`butterworth: expected an integer order ≥ 1, got ${order}`);
  const fs2 = 2 * sampleRateHz;
  const w1 = fs2 * Math.tan((Math.PI * lowHz) / sampleRateHz);
  const w2 = fs2 * Math.tan((Math.PI * highHz) / sampleRateHz);
  const bandwidth = w2 - w1;
  const centreSq = w1 * w2;
  const digitalCentre = 2 * Math.atan(Math.sqrt(centreSq) / fs2);

  const sections: Biquad[] = [];
  const poles: { re: number; im: number }[] = [];
  const addSection = (re: number, im: number): void => {
    // Bilinear map of the analog pole s = re + i·im: z = (2fs + s) / (2fs − s).
    const nr = fs2 + re;
    const dr = fs2 - re;
    const den = dr * dr + im * im;
    const zr = (nr * dr - im * im) / den;
    const zi = (im * dr + nr * im) / den;
    const a1 = -2 * zr;
    const a2 = zr * zr + zi * zi;
    sections.push(normalised(a1, a2, digitalCentre));
    poles.push({ re: zr, im: zi });
  };
  const addRealPair = (r1: number, r2: number): void => {
    // Two real analog poles: their digital images are real; the section's denominator is
    // (1 − z1 z⁻¹)(1 − z2 z⁻¹).
    const z1 = (fs2 + r1) / (fs2 - r1);
    const z2 = (fs2 + r2) / (fs2 - r2);
    sections.push(normalised(-(z1 + z2), z1 * z2, digitalCentre));
    poles.push({ re: z1, im: 0 }, { re: z2, im: 0 });
  };

  for (let k = 0; k < order; k++) {
    const theta = (Math.PI * (2 * k + order + 1)) / (2 * order);
    const pr = Math.cos(theta);
    const pi = Math.sin(theta);
    if (2 * k + 1 === order) {
      // The real prototype pole p = −1: roots of s² + B·s + Ω₀² = 0.
      const disc = bandwidth * bandwidth - 4 * centreSq;
      if (disc >= 0) {
        const root = Math.sqrt(disc);
        addRealPair((-bandwidth + root) / 2, (-bandwidth - root) / 2);
      } else {
        addSection(-bandwidth / 2, Math.sqrt(-disc) / 2);
      }
      continue;
    }
    if (pi < 0) continue; // its conjugate's sections cover it
    // Roots of s² − p·B·s + Ω₀² = 0 for complex p: s = p·B/2 ± √((p·B/2)² − Ω₀²).
    const hr = (pr * bandwidth) / 2;
    const hi = (pi * bandwidth) / 2;
    const [sr, si] = complexSqrt(hr * hr - hi * hi - centreSq, 2 * hr * hi);
    addSection(hr + sr, hi + si);
    addSection(hr - sr, hi - si);
  }
  return { sections, poles, lowRadS: w1, highRadS: w2, centreRadS: Math.sqrt(centreSq), sampleRateHz, order };
}

/** A section g(1 − z⁻²)/(1 + a1 z⁻¹ + a2 z⁻²) scaled to unit magnitude at ω₀. */
function normalised(a1: number, a2: number, omega0: number): Biquad {
  const [nr, ni] = [1 - Math.cos(2 * omega0), Math.sin(2 * omega0)];
  const dr = 1 + a1 * Math.cos(omega0) + a2 * Math.cos(2 * omega0);
  const di = -a1 * Math.sin(omega0) - a2 * Math.sin(2 * omega0);
  const g = Math.hypot(dr, di) / Math.hypot(nr, ni);
  return { b0: g, b1: 0, b2: -g, a1, a2 };
}

/** Principal square root of re + i·im. */
function complexSqrt(re: number, im: number): [number, number] {
  const m = Math.hypot(re, im);
  const r = Math.sqrt((m + re) / 2);
  const i = Math.sqrt((m - re) / 2);
  return [r, im < 0 ? -i : i];
}
