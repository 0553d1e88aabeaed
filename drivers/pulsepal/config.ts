/**
 * Rig config of a Pulse Pal 2 sink (`sinks.<name>.kind: pulsepal`).
 */
import * as s from '../../src/config/schema.js';
import { reconnectSchema } from '../binding/config.js';

export const pulsePalSinkSchema = s.object(
  {
    kind: s.literal('pulsepal'),
    port: s.string({ minLength: 1, description: 'Serial device of the Pulse Pal, e.g. /dev/serial/by-id/usb-Arduino…-if00 or /dev/ttyACM0.' }),
    baudRate: s.number({ integer: true, min: 1, default: 115200, description: 'Ignored by the native-USB Pulse Pal 2; kept for serial adapters.' }),
    fullScaleVolts: s.array(s.number({ above: 0, max: 10 }), {
      minItems: 4,
      maxItems: 4,
      default: [5, 5, 5, 5],
      description: 'Voltage each output (1–4) drives at level 1: the full-scale input of the LED or laser driver behind it.',
    }),
    programMode: s.oneOf(['full', 'per-parameter'] as const, {
      default: 'full',
      description: 'Program an output with one op 73 (all parameters at once, one confirmation) or with op 74 per changed parameter.',
    }),
    clientName: s.string({
      pattern: /^[\x20-\x7e]{1,6}$/,
      patternDescription: '1 to 6 printable ASCII characters',
      default: 'OPTOLP',
      description: 'Shown on the Pulse Pal screen while connected.',
    }),
    handshakeTimeoutMs: s.number({ above: 0, default: 1000, description: 'Wait this long for the handshake reply before the open attempt fails.' }),
    ackTimeoutMs: s.number({
      above: 0,
      default: 1000,
      description: 'Wait this long for a confirmation byte; a Pulse Pal that misses one is treated as hung and its link reopened.',
    }),
    reconnect: reconnectSchema,
  },
  { description: 'A Sanworks Pulse Pal 2 (firmware ≥ 20) on a serial port.' },
);

export type PulsePalSinkConfig = s.Infer<typeof pulsePalSinkSchema>;
