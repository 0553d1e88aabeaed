import * as s from '../../src/config/schema.js';
import { reconnectSchema } from '../tcp-common/reconnect.js';
import { RHX_BANDS, type RhxBand } from './rhx-channel-plan.js';

export const intanRhxSourceSchema = s.object(
  {
    kind: s.literal('intan-rhx'),
    host: s.string({ minLength: 1, default: '127.0.0.1', description: 'Host running Intan RHX with its TCP command server connected.' }),
    commandPort: s.number({ integer: true, min: 1, max: 65535, default: 5000, description: 'RHX command server port (Remote TCP Control dialog).' }),
    dataPort: s.number({
      integer: true,
      min: 1,
      max: 65535,
      default: 5001,
      description: 'RHX waveform output port: RHX starts listening there on `execute ConnectTCPWaveformDataOutput`.',
    }),
    channels: s.array(
      s.string({ pattern: /^[A-Ha-h]-\d{3}$/, patternDescription: 'an amplifier channel name such as "A-000" (port letter A–H, dash, three digits)' }),
      { minItems: 1, description: 'Amplifier channels to stream, in the order the blocks deliver them (native names, e.g. A-000, B-031).' },
    ),
    bands: s.array(s.oneOf(RHX_BANDS), {
      minItems: 1,
      default: ['wide'] as RhxBand[],
      description: 'Amplifier bands to stream for each channel; each band is a channel of its own (`A-000`, `A-000.low`, `A-000.high`), all at 0.195 µV per count.',
    }),
    blocksPerWrite: s.number({
      integer: true,
      min: 1,
      max: 100,
      default: 1,
      description: 'TCPNumberDataBlocksPerWrite: 128-frame blocks RHX gathers per socket write. 1 = lowest latency (4.3 ms at 30 kHz); RHX defaults to 10.',
    }),
    connectTimeoutMs: s.number({ above: 0, default: 2000, description: 'Give up a TCP connection attempt after this long.' }),
    commandTimeoutMs: s.number({ above: 0, default: 2000, description: 'Longest wait for RHX to answer one command.' }),
    dataTimeoutMs: s.number({
      above: 0,
      default: 1000,
      description: 'While running, no waveform bytes for this long (plus one write interval) is a timeout: the session is rebuilt.',
    }),
    reconnect: reconnectSchema,
  },
  {
    description: 'Intan RHX over its TCP interface (command port + waveform port).',
    refine: (v, path, issues) => {
      const seen = new Set<string>();
      v.channels.forEach((c, i) => {
        const name = c.toUpperCase();
        if (seen.has(name)) issues.push({ path: `${path ? `${path}.` : ''}channels[${i}]`, message: `expected each channel once, got ${JSON.stringify(c)} again` });
        seen.add(name);
      });
      if (new Set(v.bands).size !== v.bands.length) issues.push({ path: `${path ? `${path}.` : ''}bands`, message: `expected each band once, got ${v.bands.join(', ')}` });
    },
  },
);

export type IntanRhxSourceConfig = s.Infer<typeof intanRhxSourceSchema>;
