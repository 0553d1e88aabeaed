/**
 * Exponential backoff for reopening a device: delay(n) = min(initialDelayMs × factor^n, maxDelayMs)
 * for the n-th consecutive failed attempt (n = 0 for the first retry). No jitter: one daemon talks
 * to one device, so there is no herd to spread, and a deterministic schedule is what an operator
 * can read in the log and a test can assert.
 */
import { OptoloopError } from '../../src/core/errors.js';

export interface BackoffOptions {
  /** Delay before the first retry. */
  readonly initialDelayMs: number;
  /** Growth per failed attempt (≥ 1). */
  readonly factor: number;
  /** Cap on the delay. */
  readonly maxDelayMs: number;
}

export const defaultReconnectBackoff: BackoffOptions = { initialDelayMs: 100, factor: 2, maxDelayMs: 5000 };

export function validateBackoff(options: BackoffOptions, stage: string): BackoffOptions {
  const { initialDelayMs, factor, maxDelayMs } = options;
  if (!(initialDelayMs >= 0) || !(factor >= 1) || !(maxDelayMs >= initialDelayMs)) {
    throw new OptoloopError(
      'E_OPTIONS_INVALID',
      `${stage}: backoff expects initialDelayMs ≥ 0, factor ≥ 1 and maxDelayMs ≥ initialDelayMs; got ${initialDelayMs}, ${factor}, ${maxDelayMs}`,
      { stage, details: { ...options } },
    );
  }
  return options;
}

/** The delay before retry number `attempt` (0-based). */
export function backoffDelayMs(options: BackoffOptions, attempt: number): number {
  const raw = options.initialDelayMs * Math.pow(options.factor, attempt);
  return Number.isFinite(raw) ? Math.min(raw, options.maxDelayMs) : options.maxDelayMs;
}
