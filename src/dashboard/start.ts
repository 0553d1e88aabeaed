/**
 * One call for the daemon: starts the bus with the dashboard on its port and returns the URL to
 * print (`npm start` prints it). The dashboard's token is resolved here (see token.ts); a generated
 * one is registered with the bus.
 */
import type { CommandHandler } from '../core/commands.js';
import type { BusConfig } from '../bus/config.js';
import { BusServer, type BusServerOptions } from '../bus/server.js';
import type { DashboardConfig } from './config.js';
import { createDashboardHandler, dashboardUrl, type DashboardOptions } from './server.js';
import { dashboardToken } from './token.js';

export interface StartedBus {
  readonly bus: BusServer;
  /** `http://127.0.0.1:8787/#token=…`, or null when the dashboard is disabled. */
  readonly dashboardUrl: string | null;
}

export async function startBusAndDashboard(
  config: { readonly rig: string; readonly bus: BusConfig; readonly dashboard: DashboardConfig },
  commands: CommandHandler,
  options: Partial<Pick<BusServerOptions, 'clock' | 'timers' | 'log' | 'serverVersion'>> & { readonly web?: DashboardOptions } = {},
): Promise<StartedBus> {
  const withDashboard = config.dashboard.enabled;
  const token = withDashboard ? dashboardToken(config.bus, config.dashboard) : null;
  const bus = new BusServer({
    ...options,
    config: config.bus,
    commands,
    rig: config.rig,
    httpHandler: withDashboard ? createDashboardHandler({ title: config.rig, rasterWindowS: config.dashboard.rasterWindowS, ...options.web }) : undefined,
  });
  if (token?.generated) bus.addToken(token.token);
  const address = await bus.listen();
  return { bus, dashboardUrl: token ? dashboardUrl(address, token.token.token) : null };
}
