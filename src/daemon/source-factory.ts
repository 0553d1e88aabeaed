/**
 * Turns the rig config's `source` section into a SampleSource (not yet opened), with what the
 * daemon needs to know about it: where its geometry can come from, whether it is paced by the wall
 * clock, and the simulator's light sink when the source is the simulator.
 */
import type { SchedulerLike } from 'rxjs';
import type { MonotonicClock } from '../core/clock.js';
import { OptoloopError } from '../core/errors.js';
import type { SampleSource } from '../core/sample-source.js';
import type { ChannelLayout } from '../probe/channel-layout.js';
import type { RigConfig } from '../config/rig-config.js';
import { fileSourceFromConfig } from '../io/open-recording.js';
import type { FileReplaySource } from '../io/file-replay-source.js';
import { createSimFromConfig } from '../../sim/source-config.js';
import type { SimLightSink } from '../../sim/sim-light-sink.js';
import type { SimSource } from '../../sim/sim-source.js';
import { IntanRhxSource } from '../../drivers/intan-rhx/intan-rhx-source.js';
import { SpikeglxRemoteSource } from '../../drivers/spikeglx-remote/spikeglx-remote-source.js';
import { CytonSource } from '../../drivers/openbci/cyton-source.js';
import { UsbBridgeSource } from '../../drivers/usb-bridge/usb-bridge-source.js';
import type { FirmwareBridgeSink } from '../../drivers/firmware-bridge/sink.js';

export interface CreatedSource {
  readonly source: SampleSource;
  /** Geometry the source itself knows once opened (a SpikeGLX ~snsGeomMap, the simulator's probe), else null. */
  layoutOf(): ChannelLayout | null;
  /** True when blocks arrive at the stream's own pace (a device, or a replay at real time). */
  readonly paced: boolean;
  /** The simulator's light, to be configured as a sink of kind `sim`; null for other sources. */
  readonly simLight: SimLightSink | null;
}

export interface SourceDeps {
  readonly clock?: MonotonicClock;
  readonly scheduler?: SchedulerLike;
  readonly log?: { warn(message: string): void };
  /** The firmware bridge that starts and stops a `usb-bridge` stream (the first such sink configured). */
  readonly streamControl?: FirmwareBridgeSink | null;
}

export function createSource(config: RigConfig['source'], deps: SourceDeps = {}): CreatedSource {
  switch (config.kind) {
    case 'sim': {
      const { source, light } = createSimFromConfig(config, { clock: deps.clock, scheduler: deps.scheduler });
      const sim: SimSource = source;
      return { source, layoutOf: () => sim.simulation.generator.layout, paced: config.realTime, simLight: light };
    }
    case 'file': {
      const source: FileReplaySource = fileSourceFromConfig(config, { clock: deps.clock, scheduler: deps.scheduler });
      return { source, layoutOf: () => source.recording?.layout ?? null, paced: config.realTime, simLight: null };
    }
    case 'intan-rhx':
      return device(new IntanRhxSource(config, { clock: deps.clock }));
    case 'spikeglx-remote':
      return device(new SpikeglxRemoteSource(config, { clock: deps.clock }));
    case 'openbci':
      return device(new CytonSource({ config, log: deps.log }));
    case 'usb-bridge':
      return device(new UsbBridgeSource(config, { control: deps.streamControl ?? null, clock: deps.clock }));
    default: {
      const never: never = config;
      throw new OptoloopError('E_CONFIG_INVALID', `source.kind: no factory for ${JSON.stringify((never as { kind: string }).kind)}`, { stage: 'daemon' });
    }
  }
}

function device(source: SampleSource): CreatedSource {
  return { source, layoutOf: () => null, paced: true, simLight: null };
}
