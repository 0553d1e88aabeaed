/**
 * The `bus` section of the rig config: where the WebSocket bus listens, who may connect (tokens and
 * their permissions) and the limits that keep one client from hurting the daemon or the others.
 */
import * as s from '../config/schema.js';
import { validateOptions } from '../pipeline/options.js';

export const BUS_PERMISSIONS = ['subscribe', 'command', 'stimulate'] as const;
export type BusPermission = (typeof BUS_PERMISSIONS)[number];

export const busTokenSchema = s.object(
  {
    name: s.string({
      pattern: /^[A-Za-z0-9_.-]{1,64}$/,
      patternDescription: 'a name of 1–64 letters, digits, "_", "." or "-"',
      description: 'Shown in logs and to the client; never the secret itself.',
    }),
    token: s.string({
      minLength: 16,
      description: 'The secret a client sends in its hello (at least 16 characters; e.g. `openssl rand -hex 16`).',
    }),
    permissions: s.array(s.oneOf(BUS_PERMISSIONS), {
      minItems: 1,
      description:
        'subscribe: receive data topics; command: commands that cannot cause light; stimulate: commands that can (and releasing the emergency stop). Every authenticated client may press the emergency stop.',
    }),
  },
  { description: 'One bus token.' },
);

export type BusTokenConfig = s.Infer<typeof busTokenSchema>;

export const busConfigSchema = s.object(
  {
    enabled: s.boolean({ default: true, description: 'Run the WebSocket bus (and the dashboard it serves).' }),
    host: s.string({
      minLength: 1,
      default: '127.0.0.1',
      description: 'Address to listen on. Anything but loopback exposes the bus (tokens travel unencrypted) to the network.',
    }),
    port: s.number({ integer: true, min: 0, max: 65535, default: 8787, description: 'TCP port; 0 picks a free one.' }),
    tokens: s.array(busTokenSchema, {
      default: [],
      description: 'Who may connect. With none, the daemon creates a read-only token for the dashboard at start and prints it in the dashboard URL.',
    }),
    maxMessageBytes: s.number({
      integer: true,
      min: 1024,
      max: 16_777_216,
      default: 65_536,
      description: 'Incoming messages above this size are refused with E_BUS_TOO_LARGE; above 4× it the connection is closed (1009).',
    }),
    messagesPerS: s.number({ above: 0, default: 50, description: 'Sustained incoming messages per second per client (token bucket).' }),
    burst: s.number({ integer: true, min: 1, default: 100, description: 'Incoming messages a client may send at once before the rate applies.' }),
    maxBufferedBytes: s.number({
      integer: true,
      min: 65_536,
      default: 4_194_304,
      description: 'Send-buffer ceiling per client: above it, that client’s data-topic messages are dropped (and counted) until it catches up.',
    }),
    closeBufferedBytes: s.number({
      integer: true,
      min: 65_536,
      default: 67_108_864,
      description: 'A client with more than this many bytes unsent is disconnected (only reachable by never reading control replies).',
    }),
    spikeFlushMs: s.number({ above: 0, max: 10_000, default: 50, description: 'Spikes are coalesced and published as one batch this often.' }),
    spikeCapacity: s.number({
      integer: true,
      min: 64,
      max: 16_777_216,
      default: 65_536,
      description: 'Spikes held between flushes; more are counted in the next batch’s spikes_omitted.',
    }),
    helloTimeoutMs: s.number({ above: 0, default: 5000, description: 'A connection that has not authenticated by then is closed.' }),
    droppedNoticeMs: s.number({ above: 0, default: 1000, description: 'How often a client losing messages is told how many.' }),
    maxClients: s.number({ integer: true, min: 1, max: 10_000, default: 64, description: 'Connections beyond this are refused.' }),
  },
  {
    description: 'The WebSocket bus (protobuf): spikes, units, stimuli, BCI outputs and status out; commands in.',
    refine: (v, path, issues) => {
      const at = (k: string) => (path ? `${path}.${k}` : k);
      const names = new Set<string>();
      const secrets = new Set<string>();
      v.tokens.forEach((t, i) => {
        if (names.has(t.name)) issues.push({ path: at(`tokens[${i}].name`), message: `expected a unique name, got "${t.name}" twice` });
        if (secrets.has(t.token)) issues.push({ path: at(`tokens[${i}].token`), message: 'expected a unique token, got one already used by another entry' });
        names.add(t.name);
        secrets.add(t.token);
      });
      if (v.closeBufferedBytes < v.maxBufferedBytes) {
        issues.push({
          path: at('closeBufferedBytes'),
          message: `expected a number ≥ maxBufferedBytes (${v.maxBufferedBytes}), got ${v.closeBufferedBytes}`,
        });
      }
    },
  },
);

export type BusConfig = s.Infer<typeof busConfigSchema>;

/** The config with every default filled in, for code and tests that build a bus directly. */
export function busConfig(overrides: Partial<BusConfig> = {}): BusConfig {
  return validateOptions(busConfigSchema, overrides, 'bus');
}
