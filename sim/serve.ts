/**
 * `optoloop sim --serve`: the emulated devices (built in sim/devices/ by the driver engineers)
 * served around one running simulation. A device server registers here; the command starts every
 * registered server that was asked for, runs the simulator in real time and stops them on Ctrl-C.
 */
import type { SampleSource } from '../src/core/sample-source.js';
import { firmwareBridgeServer } from './devices/servers/firmware-bridge.js';
import { intanRhxServer } from './devices/servers/intan-rhx.js';
import { openBciServer } from './devices/servers/openbci.js';
import { pulsePalServer } from './devices/servers/pulsepal.js';
import { spikeglxServer } from './devices/servers/spikeglx.js';
import { thorlabsServer } from './devices/servers/thorlabs.js';
import type { Simulation } from './simulation.js';

/** Transport faults a user can switch on to test their own software against a misbehaving device. */
export const SERVE_FAULTS = ['fragment', 'garbage', 'disconnect'] as const;
export type ServeFault = (typeof SERVE_FAULTS)[number];

export interface ServeContext {
  readonly simulation: Simulation;
  /** The running simulation's blocks (opened, not yet started: subscribe in `start`). */
  readonly source: SampleSource;
  /** Address to bind (127.0.0.1 unless the user asks otherwise). */
  readonly host: string;
  /** Port asked for by name (`--ports intan-rhx=5000`); absent: any free port. */
  readonly ports: Readonly<Record<string, number>>;
  /** Folder where the pseudo-terminals' links go. */
  readonly ptyDir: string;
  readonly faults: ReadonlySet<ServeFault>;
  /** With the `disconnect` fault: how often each device drops its connections (ms). */
  readonly faultIntervalMs: number;
  /** Seed of the devices' own randomness (fault patterns, the Cyton's signal). */
  readonly seed: number;
  readonly log: (line: string) => void;
}

export interface RunningDevice {
  /** Where a driver connects: a pty path, host:port… */
  readonly address: string;
  /** The rig config lines that use it, as YAML flow: `source: { kind: intan-rhx, … }`. */
  readonly config: string;
  /** What else a user should know (what the light maps to, which faults apply). */
  readonly notes: readonly string[];
  /** One line on what the device did, printed when serving ends (e.g. the light it placed). */
  summary?(): string;
  stop(): Promise<void>;
}

export interface SimDeviceServer {
  /** The name `--devices` and `--ports` use. */
  readonly name: string;
  /** What it is, e.g. `Pulse Pal 2 on a pseudo-terminal`. */
  readonly description: string;
  start(context: ServeContext): Promise<RunningDevice>;
}

/** The registered device servers, in the order they are started and listed. */
export const simDeviceServers: SimDeviceServer[] = [intanRhxServer, spikeglxServer, pulsePalServer, thorlabsServer, openBciServer, firmwareBridgeServer];
