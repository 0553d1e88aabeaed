/**
 * How well a classifier did on labelled units: accuracy, the confusion matrix, and the same on
 * the units it labels at an abstention threshold (C4 reports > 95 % at a confidence ratio > 2).
 */

/** Top / second probability; large (1e6) when the second is 0. */
export function confidenceRatio(probabilities: ArrayLike<number>): number {
  let top = -1;
  let second = -1;
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i];
    if (p > top) {
      second = top;
      top = p;
    } else if (p > second) second = p;
  }
  if (!(second > 0)) return 1e6;
  return Math.min(1e6, top / second);
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

export interface Prediction {
  readonly trueClass: number;
  readonly probabilities: ArrayLike<number>;
}

export interface Evaluation {
  readonly units: number;
  readonly correct: number;
  readonly accuracy: number;
  /** confusion[true][predicted], over all units. */
  readonly confusion: number[][];
  readonly threshold: number;
  /** Units with a confidence ratio ≥ threshold. */
  readonly labelled: number;
  readonly labelledCorrect: number;
  readonly labelledFraction: number;
  readonly labelledAccuracy: number;
  readonly labelledConfusion: number[][];
}

export function evaluate(predictions: readonly Prediction[], classCount: number, threshold: number): Evaluation {
  const zero = () => Array.from({ length: classCount }, () => new Array<number>(classCount).fill(0));
  const confusion = zero();
  const labelledConfusion = zero();
  let correct = 0;
  let labelled = 0;
  let labelledCorrect = 0;
  for (const p of predictions) {
    const predicted = argmax(p.probabilities);
    confusion[p.trueClass][predicted]++;
    if (predicted === p.trueClass) correct++;
    if (confidenceRatio(p.probabilities) >= threshold) {
      labelled++;
      labelledConfusion[p.trueClass][predicted]++;
      if (predicted === p.trueClass) labelledCorrect++;
    }
  }
  const n = predictions.length;
  return {
    units: n,
    correct,
    accuracy: n ? correct / n : NaN,
    confusion,
    threshold,
    labelled,
    labelledCorrect,
    labelledFraction: n ? labelled / n : NaN,
    labelledAccuracy: labelled ? labelledCorrect / labelled : NaN,
    labelledConfusion,
  };
}

/** A confusion matrix as text: rows are the true class, columns the predicted one. */
export function formatConfusion(confusion: readonly (readonly number[])[], classes: readonly string[]): string {
  const width = Math.max(6, ...classes.map((c) => c.length)) + 1;
  const header = `${'true \\ predicted'.padEnd(width + 4)}${classes.map((c) => c.padStart(width)).join('')}`;
  const rows = confusion.map((row, i) => `${classes[i].padEnd(width + 4)}${row.map((v) => String(v).padStart(width)).join('')}`);
  return [header, ...rows].join('\n');
}

export function percent(x: number): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : 'n/a';
}
