/**
 * A waveform's value half-way between two samples, by 4-point cubic (Catmull-Rom) interpolation:
 * (−v[i−1] + 9 v[i] + 9 v[i+1] − v[i+2]) / 16 is the value at i + ½. Linear interpolation (the
 * mean of the two samples) flattens a narrow trough — a Purkinje simple spike or a mossy-fibre
 * spike is only 1–2 samples wide at 30 kHz — by far more than the noise, which is what split such
 * units by the sub-sample phase at which the detector caught them. Indices outside
 * [from, to) are clamped (the row's end value holds).
 */
export function valueAtHalf(data: Float32Array, from: number, to: number, i: number): number {
  const a = i - 1 < from ? from : i - 1 >= to ? to - 1 : i - 1;
  const b = i < from ? from : i >= to ? to - 1 : i;
  const c = i + 1 < from ? from : i + 1 >= to ? to - 1 : i + 1;
  const d = i + 2 < from ? from : i + 2 >= to ? to - 1 : i + 2;
  return (-data[a] + 9 * data[b] + 9 * data[c] - data[d]) * 0.0625;
}

/** The value at position `position` (µV), an integer or an integer + ½, of the row data[from … to). */
export function valueAt(data: Float32Array, from: number, to: number, position: number): number {
  const i = Math.floor(position);
  if (i === position) return data[i < from ? from : i >= to ? to - 1 : i];
  return valueAtHalf(data, from, to, i);
}
