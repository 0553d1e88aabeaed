/**
 * Config pieces every device driver shares: the reconnection policy of its DeviceConnection.
 */
import * as s from '../../src/config/schema.js';
import type { ReconnectOptions } from './device-connection.js';

export const reconnectSchema = s.object(
  {
    initialDelayMs: s.number({ min: 0, default: 100, description: 'Delay before the first reopen attempt after the device vanished.' }),
    factor: s.number({ min: 1, default: 2, description: 'Each further attempt waits this many times longer…' }),
    maxDelayMs: s.number({ min: 0, default: 5000, description: '…up to this delay.' }),
    maxAttempts: s.nullable(s.number({ integer: true, min: 1 }), {
      description: 'Give up (device state "failed") after this many failed attempts in a row; null keeps trying.',
    }),
    healthyAfterMs: s.number({
      min: 0,
      default: 10_000,
      description: 'A link that stayed up this long starts its next outage from the first delay again.',
    }),
  },
  {
    description: 'Reconnection after a device vanished: capped exponential backoff.',
    refine: (v, path, issues) => {
      if (v.maxDelayMs < v.initialDelayMs) {
        issues.push({ path: `${path ? `${path}.` : ''}maxDelayMs`, message: `expected a number ≥ initialDelayMs (${v.initialDelayMs}), got ${v.maxDelayMs}` });
      }
    },
  },
);

export type ReconnectConfig = s.Infer<typeof reconnectSchema>;

export function reconnectOptions(config: ReconnectConfig): ReconnectOptions {
  return { ...config };
}
