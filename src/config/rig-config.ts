/**
 * The rig config: one file per rig (YAML or JSON) naming the source, the probe, the pipeline's
 * parameters and the sinks. Each section's schema lives beside the code it configures; this file
 * only assembles them. `npm run schema` writes the JSON Schema to `config/schema.json`.
 */
import * as s from './schema.js';
import { daemonConfigSchema } from '../daemon/config.js';
import { pipelineOptionsSchema } from '../pipeline/options.js';
import { simSourceSchema } from '../../sim/source-config.js';
import { busConfigSchema } from '../bus/config.js';
import { recorderConfigSchema } from '../recorder/config.js';
import { dashboardConfigSchema } from '../dashboard/config.js';
import { openBciSourceSchema } from '../../drivers/openbci/config.js';
import { pulsePalSinkSchema } from '../../drivers/pulsepal/config.js';
import { thorlabsSinkSchema } from '../../drivers/thorlabs/config.js';
import { firmwareBridgeSinkSchema } from '../../drivers/firmware-bridge/config.js';
import { usbBridgeSourceSchema } from '../../drivers/usb-bridge/config.js';
import { intanRhxSourceSchema } from '../../drivers/intan-rhx/intan-rhx-config.js';
import { spikeglxRemoteSourceSchema } from '../../drivers/spikeglx-remote/spikeglx-remote-config.js';
import { optotagConfigSchema } from '../closedloop/optotag-config.js';
import { rulesSchema } from '../closedloop/rules/rule-options.js';
import { safetyConfigSchema } from '../closedloop/safety-options.js';
import { bciConfigSchema } from '../closedloop/bci/bci-options.js';
import { classifierConfigSchema } from '../classify/config.js';

const replaySpeed = {
  speed: s.number({
    above: 0,
    default: 1,
    description: 'Replay pace: 1 = real time, 2 = twice as fast. Use realTime: false for as fast as possible.',
  }),
  realTime: s.boolean({ default: true, description: 'Pace blocks by the wall clock; false replays as fast as the pipeline takes them.' }),
  blockFrames: s.number({ integer: true, min: 1, max: 1_048_576, default: 30, description: 'Frames per block (30 = 1 ms at 30 kHz).' }),
};

export const fileSourceSchema = s.object(
  {
    kind: s.literal('file'),
    path: s.string({ minLength: 1, description: 'A SpikeGLX .bin/.meta, an Open Ephys structure.oebin or its folder, an Intan .rhd, or a raw .bin/.dat with a JSON sidecar.' }),
    format: s.oneOf(['auto', 'spikeglx', 'openephys', 'intan-rhd', 'raw'] as const, { default: 'auto' }),
    stream: s.nullable(s.string({ minLength: 1 }), { description: 'Open Ephys: the continuous stream, by index ("0") or name ("ProbeA"); null takes the first with channels to deliver.' }),
    channels: s.oneOf(['neural', 'analog'] as const, { default: 'neural', description: 'neural: electrode/amplifier channels only; analog: also auxiliary analog inputs (nidq MA/XA, Open Ephys aux/ADC), in µV.' }),
    ...replaySpeed,
    loop: s.boolean({ default: false, description: 'Start again from the beginning at the end of the file.' }),
  },
  { description: 'Replay a recorded file.' },
);

export { simSourceSchema };

export const sourceSchema = s.tagged(
  'kind',
  {
    file: fileSourceSchema,
    sim: simSourceSchema,
    'intan-rhx': intanRhxSourceSchema,
    'spikeglx-remote': spikeglxRemoteSourceSchema,
    openbci: openBciSourceSchema,
    'usb-bridge': usbBridgeSourceSchema,
  },
  { description: 'Where samples come from.' },
);

/** The simulator's light: valid only with `source.kind: sim`, whose opsin units it drives. */
export const simLightSinkSchema = s.object({ kind: s.literal('sim') }, { description: 'The simulated light of the built-in simulator (the loop closed in software).' });

export const sinkSchema = s.tagged(
  'kind',
  { pulsepal: pulsePalSinkSchema, thorlabs: thorlabsSinkSchema, 'firmware-bridge': firmwareBridgeSinkSchema, sim: simLightSinkSchema },
  { description: 'A stimulator, by kind.' },
);

export const probeSchema = s.object(
  {
    file: s.nullable(s.string({ minLength: 1 }), {
      description: 'A probeinterface JSON file; null takes the geometry from the recording (SpikeGLX ~snsGeomMap) or the simulator.',
    }),
    probeIndex: s.number({ integer: true, min: 0, default: 0 }),
    channelContactIds: s.nullable(s.array(s.string()), { description: 'Contact id recorded on each channel, in channel order.' }),
  },
  { description: 'Probe geometry and channel map.' },
);

export const rigConfigSchema = s.object({
  rig: s.string({ minLength: 1, default: 'rig', description: 'A name for logs and the bus.' }),
  source: sourceSchema,
  probe: probeSchema,
  pipeline: pipelineOptionsSchema,
  bus: busConfigSchema,
  recorder: recorderConfigSchema,
  dashboard: dashboardConfigSchema,
  optotag: optotagConfigSchema,
  rules: rulesSchema,
  safety: safetyConfigSchema,
  bci: bciConfigSchema,
  daemon: daemonConfigSchema,
  sinks: s.record(sinkSchema, { default: {}, description: 'Stimulators by name (the name rules and bus commands use), each tagged by kind.' }),
  classifier: classifierConfigSchema,
});

export type RigConfig = s.Infer<typeof rigConfigSchema>;
export type SourceConfig = RigConfig['source'];
export type FileSourceConfig = s.Infer<typeof fileSourceSchema>;
export type SimSourceConfig = s.Infer<typeof simSourceSchema>;
export type ProbeConfig = RigConfig['probe'];
export type SinkConfig = s.Infer<typeof sinkSchema>;
