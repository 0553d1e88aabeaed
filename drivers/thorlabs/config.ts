/**
 * Rig config of a Thorlabs DC4100-family LED driver sink (`sinks.<name>.kind: thorlabs`).
 */
import * as s from '../../src/config/schema.js';
import { reconnectSchema } from '../binding/config.js';

export const thorlabsSinkSchema = s.object(
  {
    kind: s.literal('thorlabs'),
    port: s.string({ minLength: 1, description: 'Serial device of the DC4100 / DC4104 / LEDD4 (its virtual COM port).' }),
    baudRate: s.number({ integer: true, min: 1, default: 115200 }),
    mode: s.oneOf(['constant-current', 'brightness'] as const, {
      default: 'constant-current',
      description: 'constant-current: level × fullScaleMa per output; brightness: level × 100 %.',
    }),
    fullScaleMa: s.array(s.number({ above: 0, max: 10_000 }), {
      minItems: 4,
      maxItems: 4,
      default: [100, 100, 100, 100],
      description: 'LED current at level 1 for each output (1–4), constant-current mode.',
    }),
    limitMa: s.nullable(s.array(s.number({ above: 0, max: 10_000 }), { minItems: 4, maxItems: 4 }), {
      description: 'Current limit set on each output at open (`l`); null leaves the device’s limits.',
    }),
    minPulseWidthMs: s.number({
      above: 0,
      default: 5,
      description: 'Shortest pulse accepted: pulses are timed by the host over serial (ms jitter), not by the device.',
    }),
    replyTimeoutMs: s.number({ above: 0, default: 500, description: 'Wait this long for each reply; a device that misses one is reopened.' }),
    statusPollMs: s.number({ above: 0, default: 1000, description: 'Read the status word (`r?`) this often; faults are reported and refuse triggers.' }),
    reconnect: reconnectSchema,
  },
  {
    description: 'A Thorlabs DC4100 / DC4104 / LEDD4 four-channel LED driver, switched on and off over serial with host timing.',
    refine: (v, path, issues) => {
      if (v.limitMa && v.mode === 'constant-current') {
        v.fullScaleMa.forEach((ma, i) => {
          if (ma > (v.limitMa as number[])[i]) {
            issues.push({ path: `${path ? `${path}.` : ''}fullScaleMa[${i}]`, message: `expected at most limitMa[${i}] (${(v.limitMa as number[])[i]} mA), got ${ma}` });
          }
        });
      }
    },
  },
);

export type ThorlabsSinkConfig = s.Infer<typeof thorlabsSinkSchema>;
