/** The `dashboard` section of the rig config: the live web page served on the bus's port. */
import * as s from '../config/schema.js';

export const dashboardConfigSchema = s.object(
  {
    enabled: s.boolean({ default: true, description: 'Serve the dashboard page on the bus port (needs bus.enabled).' }),
    token: s.nullable(s.string({ minLength: 1 }), {
      description:
        'Name of the bus token the printed dashboard URL carries. null: a fresh read-only token is generated at each start (the page can watch and press the emergency stop, not stimulate).',
    }),
    generatedTokenCanStimulate: s.boolean({
      default: false,
      description:
        'Give the generated token (token: null) the command and stimulate permissions, so that the page can start optotagging and stimulate. Sensible on the simulator; on a rig, name a configured token instead.',
    }),
    rasterWindowS: s.number({ above: 0, max: 60, default: 5, description: 'Seconds of spikes the raster shows.' }),
  },
  { description: 'The live dashboard (raster, units, optotagging, latency, emergency stop).' },
);

export type DashboardConfig = s.Infer<typeof dashboardConfigSchema>;
