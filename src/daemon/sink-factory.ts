/**
 * Turns the rig config's `sinks` section into stimulators (not yet opened), each wrapped in its
 * safety governor: nothing in the daemon holds a raw sink, so no path reaches a device without
 * passing the limits and the emergency stop.
 */
import type { MonotonicClock } from '../core/clock.js';
import { OptoloopError } from '../core/errors.js';
import type { StimulusSink } from '../core/stimulus-sink.js';
import type { RigConfig } from '../config/rig-config.js';
import { SafetyGovernor, type StimRefusal } from '../closedloop/safety-governor.js';
import { PulsePalSink } from '../../drivers/pulsepal/pulsepal-sink.js';
import { ThorlabsSink } from '../../drivers/thorlabs/thorlabs-sink.js';
import { FirmwareBridgeSink } from '../../drivers/firmware-bridge/sink.js';
import type { SimLightSink } from '../../sim/sim-light-sink.js';

export interface CreatedSinks {
  /** Governed sinks by config name. */
  readonly governors: ReadonlyMap<string, SafetyGovernor>;
  /** The device sinks behind the governors, by config name (for their link status only). */
  readonly devices: ReadonlyMap<string, StimulusSink>;
  /** The first firmware bridge, for a `usb-bridge` source to start its stream through. */
  readonly firmwareBridge: FirmwareBridgeSink | null;
}

export interface SinkDeps {
  readonly clock: MonotonicClock;
  readonly simLight: SimLightSink | null;
  readonly log: { warn(message: string): void };
  readonly onRefusal: (sink: string, refusal: StimRefusal) => void;
}

export function createSinks(config: RigConfig, deps: SinkDeps): CreatedSinks {
  const governors = new Map<string, SafetyGovernor>();
  const devices = new Map<string, StimulusSink>();
  let firmwareBridge: FirmwareBridgeSink | null = null;
  for (const [name, sink] of Object.entries(config.sinks)) {
    let inner: StimulusSink;
    switch (sink.kind) {
      case 'pulsepal':
        inner = new PulsePalSink({ name, config: sink, log: deps.log });
        break;
      case 'thorlabs':
        inner = new ThorlabsSink({ name, config: sink, log: deps.log });
        break;
      case 'firmware-bridge': {
        const bridge = new FirmwareBridgeSink(sink);
        firmwareBridge ??= bridge;
        inner = bridge;
        break;
      }
      case 'sim':
        if (!deps.simLight) {
          throw new OptoloopError('E_CONFIG_INVALID', `sinks.${name}.kind: "sim" drives the simulator's light and needs source.kind: sim, got source.kind: ${config.source.kind}`, {
            stage: 'daemon',
          });
        }
        inner = deps.simLight;
        break;
      default: {
        const never: never = sink;
        throw new OptoloopError('E_CONFIG_INVALID', `sinks.${name}.kind: no factory for ${JSON.stringify((never as { kind: string }).kind)}`, { stage: 'daemon' });
      }
    }
    devices.set(name, inner);
    governors.set(name, new SafetyGovernor(inner, { sinkName: name, config: config.safety, clock: deps.clock, log: (refusal) => deps.onRefusal(name, refusal) }));
  }
  return { governors, devices, firmwareBridge };
}
