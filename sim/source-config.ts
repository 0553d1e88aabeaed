/**
 * The rig config's `source: { kind: sim, … }` section: every simulator option (options.ts) plus the
 * pacing of the stream, and the factory that turns it into a running source with its light sink.
 */
import * as s from '../src/config/schema.js';
import type { MonotonicClock } from '../src/core/clock.js';
import type { SchedulerLike } from 'rxjs';
import { simOptionsShape } from './options.js';
import { SimLightSink } from './sim-light-sink.js';
import { SimSource } from './sim-source.js';

export const simSourceSchema = s.object(
  {
    kind: s.literal('sim'),
    ...simOptionsShape,
    durationS: s.nullable(s.number({ above: 0 }), { description: 'Stop after this long; null runs until stopped.' }),
    speed: s.number({ above: 0, default: 1, description: 'Pace: 1 = real time, 2 = twice as fast. Use realTime: false for as fast as possible.' }),
    realTime: s.boolean({ default: true, description: 'Pace blocks by the clock; false generates as fast as the pipeline takes them.' }),
    yieldEveryMs: s.nullable(s.number({ above: 0 }), {
      description:
        'With realTime: false, also yield to the event loop after this much stream time, so that asynchronous steps (a stimulator being programmed) land at the same stream time on any machine; null yields after ~10 ms of work.',
    }),
    blockFrames: s.number({ integer: true, min: 1, max: 1_048_576, default: 30, description: 'Frames per block (30 = 1 ms at 30 kHz).' }),
    noiseThread: s.boolean({
      default: true,
      description:
        'Paced in real time: draw the thermal noise (~70 % of the simulator\'s work) ahead on a worker thread, so that the acquisition thread does only what a device\'s driver would; the samples are the same. false draws it on the acquisition thread.',
    }),
    keepGroundTruth: s.boolean({ default: true, description: 'Keep every emitted spike and pulse in memory (the ground truth accuracy is measured against): ~13 bytes per spike, e.g. ~100–300 MB per hour at 384 channels.' }),
  },
  { description: 'The built-in simulator: a ground-truth recording generated live, whose opsin units answer the simulated light.' },
);

export type SimSourceConfig = s.Infer<typeof simSourceSchema>;

/**
 * The simulator source of a rig config and its light sink (the sink the closed loop drives so
 * that its pulses reach the simulated tissue). Not opened: the daemon opens both.
 */
export function createSimFromConfig(config: SimSourceConfig, inject: { clock?: MonotonicClock; scheduler?: SchedulerLike } = {}): { source: SimSource; light: SimLightSink } {
  const { kind: _kind, ...options } = config;
  const source = new SimSource({ ...options, durationHintS: config.durationS ?? options.durationHintS, ...inject });
  const light = new SimLightSink(source.simulation.generator, config.lightOutputs, inject.clock);
  return { source, light };
}
