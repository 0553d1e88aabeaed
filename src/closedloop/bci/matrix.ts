/**
 * The few dense linear-algebra operations the decoders need, on row-major Float64Arrays. The
 * online ones write into caller-provided buffers (no allocation per bin); sizes are small (the
 * Kalman state has a handful of dimensions) or handled once at fit/load time (ridge normal
 * equations, observation noise).
 */

/** C (m×n) = A (m×k) · B (k×n). */
export function multiply(a: Float64Array, b: Float64Array, m: number, k: number, n: number, out: Float64Array = new Float64Array(m * n)): Float64Array {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += a[i * k + p] * b[p * n + j];
      out[i * n + j] = sum;
    }
  }
  return out;
}

/** C (m×n) = A (m×k) · Bᵀ where B is n×k. */
export function multiplyTransposed(a: Float64Array, b: Float64Array, m: number, k: number, n: number, out: Float64Array = new Float64Array(m * n)): Float64Array {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += a[i * k + p] * b[j * k + p];
      out[i * n + j] = sum;
    }
  }
  return out;
}

export function transpose(a: Float64Array, m: number, n: number, out: Float64Array = new Float64Array(m * n)): Float64Array {
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j * m + i] = a[i * n + j];
  return out;
}

/**
 * In-place Cholesky factorisation of a symmetric positive-definite n×n matrix (lower triangle
 * holds L afterwards). Returns false if the matrix is not positive definite.
 */
export function cholesky(a: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let k = 0; k < j; k++) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0)) return false;
    const ljj = Math.sqrt(d);
    a[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / ljj;
    }
    for (let k = j + 1; k < n; k++) a[j * n + k] = 0;
  }
  return true;
}

/** Solves L·Lᵀ·X = B for X (n×m, B overwritten), given the Cholesky factor L (lower triangle of l). */
export function choleskySolve(l: Float64Array, n: number, b: Float64Array, m: number): Float64Array {
  for (let c = 0; c < m; c++) {
    for (let i = 0; i < n; i++) {
      let s = b[i * m + c];
      for (let k = 0; k < i; k++) s -= l[i * n + k] * b[k * m + c];
      b[i * m + c] = s / l[i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = b[i * m + c];
      for (let k = i + 1; k < n; k++) s -= l[k * n + i] * b[k * m + c];
      b[i * m + c] = s / l[i * n + i];
    }
  }
  return b;
}

/**
 * Inverse of a symmetric positive-definite n×n matrix into `out`, through Cholesky; `work` (n×n)
 * is scratch. If the matrix is not positive definite, a growing multiple of its mean diagonal is
 * added until it is (a numerical floor: covariances estimated from data can be singular).
 * Returns the ridge that was added (0 when none). No allocation when work and out are given.
 */
export function invertSpd(a: Float64Array, n: number, out: Float64Array, work: Float64Array = new Float64Array(n * n)): number {
  let meanDiagonal = 0;
  for (let i = 0; i < n; i++) meanDiagonal += Math.abs(a[i * n + i]);
  meanDiagonal = meanDiagonal / n || 1;
  let ridge = 0;
  for (let attempt = 0; attempt < 30; attempt++) {
    for (let i = 0; i < n * n; i++) work[i] = a[i];
    for (let i = 0; i < n; i++) work[i * n + i] += ridge;
    if (cholesky(work, n)) {
      out.fill(0, 0, n * n);
      for (let i = 0; i < n; i++) out[i * n + i] = 1;
      choleskySolve(work, n, out, n);
      return ridge;
    }
    ridge = ridge === 0 ? meanDiagonal * 1e-10 : ridge * 10;
  }
  throw new RangeError('invertSpd: the matrix is not positive definite even with a large ridge (NaN or infinite entries?)');
}
