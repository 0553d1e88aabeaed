/**
 * Config of a firmware-bridge sink (a rig config's stimulator entry with `kind: firmware-bridge`).
 * The limits here are sent to the firmware at every connection; the firmware refuses values above
 * its hard ceilings, and the daemon's safety governor applies its own limits on top.
 */
import * as s from '../../src/config/schema.js';

export const bridgeLimitsSchema = s.object(
  {
    maxWidthUs: s.number({ integer: true, min: 1, max: 1_000_000, default: 50_000, description: 'No pulse wider than this (µs).' }),
    dutyWindowUs: s.number({ integer: true, min: 1000, max: 60_000_000, default: 1_000_000, description: 'Length of the sliding duty-cycle window (µs).' }),
    maxDutyPpm: s.number({
      integer: true,
      min: 1,
      max: 1_000_000,
      default: 250_000,
      description: 'Light on-time in any duty window, in parts per million of the window (250000 = 25 %).',
    }),
    rateWindowUs: s.number({
      integer: true,
      min: 1000,
      max: 60_000_000,
      default: 60_000_000,
      description: 'Length of the sliding pulse-rate window (µs); at least dutyWindowUs.',
    }),
    maxPulsesPerWindow: s.number({ integer: true, min: 1, max: 1023, default: 600, description: 'Pulse onsets in any rate window.' }),
  },
  {
    description: 'Limits the firmware enforces on every output (firmware-bridge/PROTOCOL.md §7).',
    refine: (v, path, issues) => {
      if (v.rateWindowUs < v.dutyWindowUs) {
        issues.push({ path: `${path ? `${path}.` : ''}rateWindowUs`, message: `expected at least dutyWindowUs (${v.dutyWindowUs}), got ${v.rateWindowUs}` });
      }
    },
  },
);

export const firmwareBridgeSinkSchema = s.object(
  {
    kind: s.literal('firmware-bridge'),
    path: s.string({ minLength: 1, description: 'Serial port of the bridge, e.g. /dev/ttyACM0 or /dev/serial/by-id/usb-optoloop…' }),
    baudRate: s.number({ integer: true, min: 1, default: 1_000_000, description: 'Ignored by USB CDC; used when the bridge sits behind a UART adapter.' }),
    requestTimeoutMs: s.number({ above: 0, max: 60_000, default: 500, description: 'A request without a reply within this time fails with E_DEVICE_TIMEOUT.' }),
    openAttempts: s.number({ integer: true, min: 1, max: 100, default: 3, description: 'Tries to open the port and handshake before open() fails.' }),
    reconnect: s.boolean({ default: true, description: 'Reopen the port after the device vanished, re-handshake and re-program every output.' }),
    reconnectInitialDelayMs: s.number({ above: 0, default: 100, description: 'First wait before reopening; doubles after each failure.' }),
    reconnectMaxDelayMs: s.number({ above: 0, default: 2000, description: 'Longest wait between reopen attempts.' }),
    limits: s.nullable(bridgeLimitsSchema, { description: 'Limits to set on every output at each connection; null keeps the firmware defaults.' }),
  },
  { description: 'Our own firmware bridge (Teensy 4 / RP2040): hardware-timed pulse trains on several LED / TTL outputs.' },
);

export type FirmwareBridgeSinkConfig = s.Infer<typeof firmwareBridgeSinkSchema>;
export type BridgeLimitsConfig = s.Infer<typeof bridgeLimitsSchema>;
