/**
 * Light protocols for recordings made without a daemon (`optoloop sim --light …`): a schedule of
 * pulses known in advance.
 *   none                      no light
 *   optotag                   10 ms pulses every 1 s ± 0.25 s from 2 s on (Allen Brain Observatory
 *                             practice: 10 ms pulses; science.md §2)
 *   key=value,…               width (ms), interval (ms), jitter (ms, ± uniform), start (s),
 *                             count (pulses; default: until the end), level (0…1)
 */
import { OptoloopError } from '../src/core/errors.js';
import type { LightPulse } from './light.js';
import { Rng } from './rng.js';

export interface LightProtocol {
  readonly widthMs: number;
  readonly intervalMs: number;
  readonly jitterMs: number;
  readonly startS: number;
  readonly count: number | null;
  readonly level: number;
}

export const OPTOTAG_PROTOCOL: LightProtocol = { widthMs: 10, intervalMs: 1000, jitterMs: 250, startS: 2, count: null, level: 1 };

const KEYS = { width: 'widthMs', interval: 'intervalMs', jitter: 'jitterMs', start: 'startS', count: 'count', level: 'level' } as const;

export function parseLightProtocol(text: string): LightProtocol | null {
  const t = text.trim();
  if (t === 'none') return null;
  if (t === 'optotag') return OPTOTAG_PROTOCOL;
  const out: Record<string, number | null> = { ...OPTOTAG_PROTOCOL };
  for (const part of t.split(',')) {
    const [key, value, ...rest] = part.split('=');
    const field = KEYS[key?.trim() as keyof typeof KEYS];
    const number = Number(value);
    if (!field || rest.length || value === undefined || !Number.isFinite(number)) {
      throw new OptoloopError('E_CLI_USAGE', `--light: "${part}": expected none, optotag or key=value pairs with keys ${Object.keys(KEYS).join(', ')}`, { stage: 'sim' });
    }
    out[field] = number;
  }
  const p = out as unknown as LightProtocol;
  const fail = (what: string) => {
    throw new OptoloopError('E_CLI_USAGE', `--light: ${what}`, { stage: 'sim' });
  };
  if (!(p.widthMs > 0)) fail(`width: expected a positive number of ms, got ${p.widthMs}`);
  if (!(p.intervalMs > p.widthMs + 2 * p.jitterMs) && !(p.count === 1)) fail(`interval (${p.intervalMs} ms) must exceed width + 2 × jitter (${p.widthMs + 2 * p.jitterMs} ms) so pulses never overlap`);
  if (!(p.jitterMs >= 0)) fail(`jitter: expected ≥ 0 ms, got ${p.jitterMs}`);
  if (!(p.startS >= 0)) fail(`start: expected ≥ 0 s, got ${p.startS}`);
  if (p.count !== null && !(Number.isInteger(p.count) && p.count >= 1)) fail(`count: expected a positive integer, got ${p.count}`);
  if (!(p.level > 0 && p.level <= 1)) fail(`level: expected a number in (0, 1], got ${p.level}`);
  return p;
}

/** The pulses of a protocol within [0, totalSamples), seeded so that the jitter repeats. */
export function schedulePulses(protocol: LightProtocol, sampleRateHz: number, totalSamples: number, seed: number): LightPulse[] {
  const rng = new Rng(seed, 'light-protocol');
  const pulses: LightPulse[] = [];
  const width = Math.max(1, Math.round((protocol.widthMs * sampleRateHz) / 1000));
  let t = protocol.startS * 1000;
  while (protocol.count === null || pulses.length < protocol.count) {
    const onset = Math.round(((t + (2 * rng.uniform() - 1) * protocol.jitterMs) * sampleRateHz) / 1000);
    if (onset + width > totalSamples) break;
    pulses.push({ onsetSample: Math.max(0, onset), offsetSample: Math.max(0, onset) + width, level: protocol.level, output: 0, requestId: -1, reason: 'protocol' });
    t += protocol.intervalMs;
  }
  return pulses;
}
