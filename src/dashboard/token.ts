/**
 * Which token the printed dashboard URL carries: the bus token named by `dashboard.token`, or a
 * fresh random read-only token made at start (registered with the bus by the caller), so that a
 * rig that configured no tokens still gets a working dashboard that can watch and press the
 * emergency stop, but never stimulate.
 */
import { randomBytes } from 'node:crypto';
import { OptoloopError } from '../core/errors.js';
import type { BusConfig, BusTokenConfig } from '../bus/config.js';
import type { DashboardConfig } from './config.js';

export interface DashboardToken {
  readonly token: BusTokenConfig;
  /** True when made now: register it with `BusServer.addToken`. */
  readonly generated: boolean;
}

export function dashboardToken(bus: BusConfig, dashboard: DashboardConfig, random: (bytes: number) => Buffer = randomBytes): DashboardToken {
  if (dashboard.token === null) {
    const permissions: BusTokenConfig['permissions'] = dashboard.generatedTokenCanStimulate ? ['subscribe', 'command', 'stimulate'] : ['subscribe'];
    return { token: { name: 'dashboard', token: random(24).toString('base64url'), permissions }, generated: true };
  }
  const named = bus.tokens.find((t) => t.name === dashboard.token);
  if (!named) {
    throw new OptoloopError(
      'E_CONFIG_INVALID',
      `dashboard.token: expected the name of a bus token (${bus.tokens.map((t) => `"${t.name}"`).join(', ') || 'bus.tokens is empty'}), got "${dashboard.token}"`,
      { stage: 'config', details: { path: 'dashboard.token' } },
    );
  }
  if (!named.permissions.includes('subscribe')) {
    throw new OptoloopError('E_CONFIG_INVALID', `dashboard.token: token "${named.name}" lacks the subscribe permission the page needs`, {
      stage: 'config',
      details: { path: 'dashboard.token' },
    });
  }
  return { token: named, generated: false };
}
