/**
 * How a unit's spike amplitude falls with distance from the recording site.
 *
 * Model (stated, with its sources in presets/sources.ts):
 * - Close to the cell the soma and proximal dendrites act as a point / line current source in a
 *   homogeneous volume conductor, so V ∝ 1/r (holtKoch1999; pettersenEinevoll2008 find ~1/r near
 *   the soma).
 * - The source has a size: closer than the soma radius the amplitude no longer grows, so r is
 *   floored at `somaRadiusUm` (the amplitude given for a unit is its amplitude at that floor).
 * - Farther than `nearFieldUm` the return currents cancel the monopole and the field decays as a
 *   dipole, 1/r² (pettersenEinevoll2008: 1/r² to 1/r³ far from the soma; axonal terminals use 3).
 * The two branches meet continuously at nearFieldUm.
 */
export interface DecayModel {
  readonly somaRadiusUm: number;
  readonly nearFieldUm: number;
}

export const DEFAULT_DECAY: DecayModel = { somaRadiusUm: 10, nearFieldUm: 40 };

/** Amplitude at distance r relative to the amplitude at the soma-size floor (1 at r ≤ somaRadiusUm). */
export function amplitudeFactor(distanceUm: number, farFieldExponent: number, model: DecayModel = DEFAULT_DECAY): number {
  const rs = model.somaRadiusUm;
  const rd = model.nearFieldUm;
  const r = distanceUm < rs ? rs : distanceUm;
  if (r <= rd) return rs / r;
  const q = rd / r;
  // Integer exponents by multiplication: this runs for every channel of every spike.
  const far = farFieldExponent === 2 ? q * q : farFieldExponent === 3 ? q * q * q : Math.pow(q, farFieldExponent);
  return (rs / rd) * far;
}

/** The distance at which the factor equals `factor` (0 < factor ≤ 1): inverse of amplitudeFactor. */
export function distanceForFactor(factor: number, farFieldExponent: number, model: DecayModel = DEFAULT_DECAY): number {
  const rs = model.somaRadiusUm;
  const rd = model.nearFieldUm;
  if (factor >= 1) return rs;
  const atRd = rs / rd;
  if (factor >= atRd) return rs / factor;
  return rd * Math.pow(atRd / factor, 1 / farFieldExponent);
}

/**
 * Spikes broaden with distance (pettersenEinevoll2008: intrinsic dendritic low-pass filtering):
 * the width scale applied to a channel's waveform, 1 at the soma floor, +25 % per 100 µm.
 */
export function widthScale(distanceUm: number, model: DecayModel = DEFAULT_DECAY): number {
  return 1 + 0.25 * Math.max(0, distanceUm - model.somaRadiusUm) / 100;
}
