import type { Observable } from 'rxjs';
import type { ConnectionEvent } from '../../drivers/binding/device-connection.js';
import { ManualTimers } from '../../drivers/binding/timers.js';
import type { StimulusAck } from '../../src/core/stimulus-sink.js';
import { PtyPair } from '../../sim/devices/pty-pair.js';

interface EmulatedDevice<E> {
  readonly events$: Observable<E>;
  start(): Promise<void>;
  close(): Promise<void>;
}

interface SerialSink {
  readonly events$: Observable<ConnectionEvent>;
  readonly acks$: Observable<StimulusAck>;
  close(): Promise<void>;
}

/** A serial sink on the host end of a real pty pair, its emulated device on the other, on virtual timers. */
export interface SinkRig<S, D, E> {
  pair: PtyPair;
  emulator: D;
  sink: S;
  timers: ManualTimers;
  /** What the emulated device was told, in order. */
  events: E[];
  /** The sink's link events. */
  link: ConnectionEvent[];
  acks: StimulusAck[];
  close(): Promise<void>;
}

/**
 * Starts the emulator on the device end of a fresh pty pair, then builds the sink on the host end
 * with ManualTimers, recording the emulator's events, the link's events and the acks.
 */
export async function sinkRig<S extends SerialSink, D extends EmulatedDevice<E>, E>(
  emulatorAt: (devicePath: string) => D,
  sinkAt: (hostPath: string, timers: ManualTimers) => S,
): Promise<SinkRig<S, D, E>> {
  const pair = await PtyPair.create();
  const emulator = emulatorAt(pair.devicePath);
  await emulator.start();
  const timers = new ManualTimers();
  const sink = sinkAt(pair.hostPath, timers);
  const events: E[] = [];
  emulator.events$.subscribe((e) => events.push(e));
  const link: ConnectionEvent[] = [];
  sink.events$.subscribe((e) => link.push(e));
  const acks: StimulusAck[] = [];
  sink.acks$.subscribe((a) => acks.push(a));
  return {
    pair,
    emulator,
    sink,
    timers,
    events,
    link,
    acks,
    async close() {
      await sink.close();
      await emulator.close();
      await pair.close();
    },
  };
}
