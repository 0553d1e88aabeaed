/**
 * The JSON sidecar that makes a raw interleaved int16 file readable: `<data file>.json`, e.g.
 * `session.bin` + `session.bin.json`:
 *
 * ```json
 * {
 *   "format": "optoloop-raw-int16",
 *   "version": 1,
 *   "sampleRateHz": 30000,
 *   "channelCount": 32,
 *   "uvPerCount": 0.195,
 *   "channelNames": null,
 *   "firstSampleIndex": 0,
 *   "dataOffsetBytes": 0,
 *   "probeFile": "probe.json",
 *   "description": "tetrode session 3"
 * }
 * ```
 *
 * The data file holds little-endian int16 frames, frame-major (all channels of frame 0, then
 * frame 1, …), after `dataOffsetBytes` bytes of anything; its size after the offset must be a whole
 * number of frames. Every channel is neural. `uvPerCount` is one number or one per channel;
 * `probeFile` (a probeinterface JSON, relative to the sidecar's folder) gives the layout.
 */
import * as s from '../../config/schema.js';

export const RAW_SIDECAR_FORMAT = 'optoloop-raw-int16';

const uvPerCount: s.Schema<number | number[]> = {
  hasDefault: false,
  defaultValue: undefined,
  parse(value, path, issues) {
    if (typeof value === 'number') {
      if (Number.isFinite(value) && value > 0) return value;
    } else if (Array.isArray(value)) {
      const bad = value.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v) || !(v > 0));
      if (bad < 0 && value.length > 0) return value as number[];
      if (bad >= 0) {
        issues.push({ path: `${path}[${bad}]`, message: `expected a positive number (µV per count), got ${JSON.stringify(value[bad])}` });
        return undefined;
      }
    }
    issues.push({ path, message: `expected a positive number or an array of positive numbers (µV per count), got ${JSON.stringify(value)?.slice(0, 40)}` });
    return undefined;
  },
  jsonSchema: () => ({
    description: 'µV per count: one number for every channel, or one per channel.',
    anyOf: [
      { type: 'number', exclusiveMinimum: 0 },
      { type: 'array', items: { type: 'number', exclusiveMinimum: 0 }, minItems: 1 },
    ],
  }),
};

export const rawSidecarSchema = s.object(
  {
    format: s.literal(RAW_SIDECAR_FORMAT, { description: 'Identifies the sidecar.' }),
    version: s.number({ integer: true, min: 1, max: 1, default: 1 }),
    sampleRateHz: s.number({ above: 0, description: 'Frames per second.' }),
    channelCount: s.number({ integer: true, min: 1, max: 65535, description: 'Channels per frame.' }),
    uvPerCount,
    channelNames: s.nullable(s.array(s.string({ minLength: 1 })), { description: 'One name per channel; null names them 0, 1, …' }),
    firstSampleIndex: s.number({ integer: true, min: 0, default: 0, description: 'Sample index of the first frame.' }),
    dataOffsetBytes: s.number({ integer: true, min: 0, default: 0, description: 'Bytes to skip at the start of the data file.' }),
    probeFile: s.nullable(s.string({ minLength: 1 }), { description: 'probeinterface JSON giving the layout, relative to the sidecar.' }),
    description: s.string({ default: '', description: 'Free text for logs.' }),
  },
  {
    description: 'Sidecar of a raw interleaved int16 recording.',
    refine: (v, path, issues) => {
      const at = (key: string) => (path ? `${path}.${key}` : key);
      if (Array.isArray(v.uvPerCount) && v.uvPerCount.length !== v.channelCount) {
        issues.push({ path: at('uvPerCount'), message: `expected ${v.channelCount} values (one per channel), got ${v.uvPerCount.length}` });
      }
      if (v.channelNames && v.channelNames.length !== v.channelCount) {
        issues.push({ path: at('channelNames'), message: `expected ${v.channelCount} names (one per channel), got ${v.channelNames.length}` });
      }
    },
  },
);

export type RawSidecar = s.Infer<typeof rawSidecarSchema>;

/** Where the sidecar of a data file is. */
export function sidecarPathOf(dataPath: string): string {
  return `${dataPath}.json`;
}
