/**
 * The decoder file (JSON) that `optoloop fit-decoder` writes and the daemon's BCI output loads.
 * Described in docs/bci.md. Matrices are arrays of rows; dimensions are checked against unitIds and
 * outputs, so that a decoder fitted on other units is refused with the offending field named.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as s from '../../config/schema.js';
import { OptoloopError } from '../../core/errors.js';

const matrix = (description: string) => s.array(s.array(s.number()), { description });

const common = {
  format: s.literal('optoloop-decoder'),
  version: s.oneOf([1] as const, { description: 'Format version.' }),
  binMs: s.number({ above: 0, max: 10_000, description: 'Width of the rate bins; the decoder runs once per bin.' }),
  unitIds: s.array(s.number({ integer: true, min: 0 }), { minItems: 1, description: 'The input units, in input order (their rates in Hz).' }),
  outputs: s.array(s.string({ minLength: 1 }), { minItems: 1, description: 'Names of the decoded variables.' }),
  fit: s.nullable(
    s.object({
      bins: s.number({ integer: true, min: 0 }),
      testBins: s.number({ integer: true, min: 0 }),
      testR2: s.array(s.nullable(s.number())),
      source: s.string({ default: '' }),
    }),
    { description: 'How the decoder was fitted: bins used, held-out bins, held-out R² per output.' },
  ),
};

export const linearDecoderSchema = s.object(
  {
    kind: s.literal('linear'),
    ...common,
    lags: s.number({ integer: true, min: 1, max: 1000, default: 1, description: 'Bins of history: the current bin and lags − 1 before it.' }),
    weights: matrix('outputs × (lags × units), lag-major: all units of the current bin, then of the bin before, …'),
    bias: s.array(s.number(), { description: 'One per output.' }),
    ridgeLambda: s.number({ min: 0, default: 0 }),
  },
  { description: 'y = weights · [r(t), r(t−1), …] + bias, r in Hz.' },
);

export const kalmanDecoderSchema = s.object(
  {
    kind: s.literal('kalman'),
    ...common,
    A: matrix('State transition, outputs × outputs (the state is the output vector, centred).'),
    W: matrix('State noise covariance, outputs × outputs.'),
    H: matrix('Observation matrix, units × outputs.'),
    Q: matrix('Observation noise covariance, units × units.'),
    stateMean: s.array(s.number(), { description: 'Mean of the outputs over the fit (the state is centred on it).' }),
    rateMeanHz: s.array(s.number(), { description: 'Mean rate of each unit over the fit (subtracted before the update).' }),
    initialCovariance: matrix('State covariance at the start, outputs × outputs.'),
  },
  { description: 'Kalman filter (Wu et al. 2003 form): x(t) = A x(t−1) + w, r(t) = H x(t) + q.' },
);

export const decoderSchema = s.tagged('kind', { linear: linearDecoderSchema, kalman: kalmanDecoderSchema });

export type LinearDecoderFile = s.Infer<typeof linearDecoderSchema>;
export type KalmanDecoderFile = s.Infer<typeof kalmanDecoderSchema>;
export type DecoderFile = LinearDecoderFile | KalmanDecoderFile;

function shape(issues: s.Issue[], path: string, m: readonly (readonly number[])[], rows: number, cols: number): void {
  if (m.length !== rows) issues.push({ path, message: `expected ${rows} rows, got ${m.length}` });
  m.forEach((row, i) => {
    if (row.length !== cols) issues.push({ path: `${path}[${i}]`, message: `expected ${cols} columns, got ${row.length}` });
  });
}

/** Validates a parsed decoder document, dimensions included. `source` names it in errors. */
export function validateDecoder(document: unknown, source: string): DecoderFile {
  const r = s.validate(decoderSchema, document);
  const issues: s.Issue[] = r.ok ? [] : r.issues;
  if (r.ok) {
    const d = r.value;
    const units = d.unitIds.length;
    const outputs = d.outputs.length;
    if (new Set(d.unitIds).size !== units) issues.push({ path: 'unitIds', message: 'expected each unit once' });
    if (d.kind === 'linear') {
      shape(issues, 'weights', d.weights, outputs, units * d.lags);
      if (d.bias.length !== outputs) issues.push({ path: 'bias', message: `expected ${outputs} values (one per output), got ${d.bias.length}` });
    } else {
      shape(issues, 'A', d.A, outputs, outputs);
      shape(issues, 'W', d.W, outputs, outputs);
      shape(issues, 'H', d.H, units, outputs);
      shape(issues, 'Q', d.Q, units, units);
      shape(issues, 'initialCovariance', d.initialCovariance, outputs, outputs);
      if (d.stateMean.length !== outputs) issues.push({ path: 'stateMean', message: `expected ${outputs} values, got ${d.stateMean.length}` });
      if (d.rateMeanHz.length !== units) issues.push({ path: 'rateMeanHz', message: `expected ${units} values, got ${d.rateMeanHz.length}` });
    }
    if (d.fit && d.fit.testR2.length !== outputs) issues.push({ path: 'fit.testR2', message: `expected ${outputs} values, got ${d.fit.testR2.length}` });
  }
  if (issues.length || !r.ok) {
    throw new OptoloopError('E_FILE_MALFORMED', `${source}: not a valid decoder, ${issues.length} problem(s):\n  ${issues.slice(0, 20).map((i) => `${i.path}: ${i.message}`).join('\n  ')}`, {
      stage: 'closedloop.bci',
      details: { file: source, issues: issues.slice(0, 100) },
    });
  }
  return r.value;
}

export function readDecoder(path: string): DecoderFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new OptoloopError('E_FILE_NOT_FOUND', `${path}: cannot read the decoder (${(cause as Error).message})`, { stage: 'closedloop.bci', details: { file: path }, cause });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (cause) {
    throw new OptoloopError('E_FILE_MALFORMED', `${path}: not JSON (${(cause as Error).message})`, { stage: 'closedloop.bci', details: { file: path }, cause });
  }
  return validateDecoder(document, path);
}

export function writeDecoder(path: string, decoder: DecoderFile): void {
  validateDecoder(decoder, 'the decoder to write');
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, `${JSON.stringify(decoder, null, 1)}\n`);
    renameSync(temporary, path);
  } catch (cause) {
    throw new OptoloopError('E_FILE_WRITE', `${path}: cannot write the decoder (${(cause as Error).message})`, { stage: 'closedloop.bci', details: { file: path }, cause });
  }
}
