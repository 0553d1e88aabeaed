/**
 * `optoloop sim --serve`: the emulated devices (built in sim/devices/ by the driver engineers)
 * served around one running simulation. A device server registers here; the command starts every
 * registered server, runs the simulator in real time and stops them on Ctrl-C.
 */
import type { Simulation } from './simulation.js';
import type { SimLightSink } from './sim-light-sink.js';

export interface ServeContext {
  readonly simulation: Simulation;
  /** The simulated light: an emulated LED driver triggers it so its pulses reach the tissue. */
  readonly light: SimLightSink;
  /** Address to bind (127.0.0.1 unless the user asks otherwise). */
  readonly host: string;
  readonly log: (line: string) => void;
}

export interface RunningDevice {
  /** Where a driver connects: a pty path, host:port… */
  readonly address: string;
  stop(): Promise<void>;
}

export interface SimDeviceServer {
  readonly name: string;
  /** One line for the --serve listing, e.g. `Pulse Pal v2 on a pseudo-terminal`. */
  readonly description: string;
  start(context: ServeContext): Promise<RunningDevice>;
}

/** The registered device servers (the lead adds each emulator from sim/devices/ here). */
export const simDeviceServers: SimDeviceServer[] = [];
