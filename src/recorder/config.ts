/** The `recorder` section of the rig config: lossless recording of raw samples and events while streaming. */
import * as s from '../config/schema.js';

export const recorderConfigSchema = s.object(
  {
    enabled: s.boolean({ default: false, description: 'Record while streaming (Open Ephys binary format).' }),
    directory: s.string({ minLength: 1, default: 'recordings', description: 'Each session gets a folder here, named after the rig and the start time.' }),
    flushIntervalMs: s.number({
      min: 10,
      max: 60_000,
      default: 1000,
      description: 'Samples and events reach the files at least this often: a crash (kill -9) loses at most about this much.',
    }),
    queueMiB: s.number({
      above: 0,
      max: 65_536,
      default: 256,
      description: 'Memory for samples waiting to be written; when the disk falls this far behind, blocks are dropped and counted.',
    }),
    fsync: s.boolean({ default: false, description: 'fsync after every write: survives power loss too, at the cost of disk stalls (the queue absorbs them).' }),
    float32UvPerCount: s.number({ above: 0, default: 0.195, description: 'Scale (µV per count) for storing float32 µV streams as int16; values beyond ±32767 counts are clipped and counted.' }),
    spikeCapacity: s.number({ integer: true, min: 1024, default: 262_144, description: 'Spikes held per flush interval; more are dropped and counted.' }),
    eventCapacity: s.number({ integer: true, min: 64, default: 16_384, description: 'Stimulus edges held per flush interval; more are dropped and counted.' }),
  },
  { description: 'The recorder: raw samples, spikes (with unit ids), stimuli (TTL) and labels (text) in Open Ephys binary format.' },
);

export type RecorderConfig = s.Infer<typeof recorderConfigSchema>;
