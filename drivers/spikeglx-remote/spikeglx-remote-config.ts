import * as s from '../../src/config/schema.js';
import { reconnectSchema } from '../tcp-common/reconnect.js';

export const spikeglxRemoteSourceSchema = s.object(
  {
    kind: s.literal('spikeglx-remote'),
    host: s.string({ minLength: 1, default: '127.0.0.1', description: 'Host running SpikeGLX with its remote command server enabled.' }),
    port: s.number({ integer: true, min: 1, max: 65535, default: 4142, description: 'SpikeGLX command server port.' }),
    js: s.oneOf([2, -2, 0, 1] as const, {
      default: 2,
      description: 'Stream type: 2 = imec probe (AP), −2 = imec filtered copy, 0 = nidq, 1 = OneBox.',
    }),
    ip: s.number({ integer: true, min: 0, default: 0, description: 'Stream index within its type (the probe number for imec).' }),
    channels: s.nullable(s.array(s.number({ integer: true, min: 0 }), { minItems: 1 }), {
      description:
        'Acquired-channel indices to fetch (delivered in ascending order). null = every neural channel of the stream: AP for imec, MN+MA+XA for nidq, XA for OneBox. SY and digital-word channels are never delivered as neural channels, even when listed.',
    }),
    maxSamplesPerFetch: s.number({ integer: true, min: 24, max: 1_000_000, default: 3000, description: 'nMax of each FETCH: the largest block delivered.' }),
    pollIntervalMs: s.number({
      min: 0,
      default: 1,
      description: 'Back-off after a FETCH that returned less than nMax samples (scaled by how short it was); a full reply is followed by the next FETCH at once.',
    }),
    connectTimeoutMs: s.number({ above: 0, default: 2000, description: 'Give up a TCP connection attempt after this long.' }),
    replyTimeoutMs: s.number({ above: 0, default: 2000, description: 'Longest wait for a complete reply to one command.' }),
    reconnect: reconnectSchema,
  },
  { description: 'SpikeGLX remote command server: polls FETCH from the last sample count, without gaps.' },
);

export type SpikeglxRemoteSourceConfig = s.Infer<typeof spikeglxRemoteSourceSchema>;
