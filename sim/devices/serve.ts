/**
 * An emulated serial device ready to use: a socat pty pair with the emulator on its device end.
 * Point a rig config's `port` at `hostPath` and the real driver talks to the emulator; `unplug()`
 * and `replug()` pull and restore the "cable". This is what `optoloop sim --serve` and desk
 * testing without hardware build on.
 */
import type { Timers } from '../../drivers/binding/timers.js';
import type { LinkFaults } from './emulator-link.js';
import { CytonEmulator } from './openbci/emulator.js';
import type { CytonSignal } from './openbci/signal.js';
import { PtyPair } from './pty-pair.js';
import { PulsePalEmulator } from './pulsepal/emulator.js';
import { ThorlabsEmulator } from './thorlabs/emulator.js';

export interface ServeOptions {
  /** Folder and name of the host-side link (defaults: a temporary folder, `host`). */
  readonly dir?: string;
  readonly hostName?: string;
  readonly seed?: number;
  readonly timers?: Timers;
  readonly faults?: Partial<LinkFaults>;
  /** OpenBCI: a daisy module is fitted; the electrode signal (default seeded). */
  readonly daisyFitted?: boolean;
  readonly signal?: CytonSignal;
  /** Pulse Pal: the firmware version its handshake reports (default 21). */
  readonly firmwareVersion?: number;
}

interface Served<K extends string, E> {
  readonly kind: K;
  readonly emulator: E;
  readonly pair: PtyPair;
  /** The path a driver opens. */
  readonly hostPath: string;
  /** Both ends vanish, as when the USB cable is pulled. */
  unplug(): Promise<void>;
  /** The device comes back under the same path. */
  replug(): Promise<void>;
  close(): Promise<void>;
}

export type ServedDevice =
  | Served<'pulsepal', PulsePalEmulator>
  | Served<'openbci', CytonEmulator>
  | Served<'thorlabs', ThorlabsEmulator>;

export type EmulatedDeviceKind = ServedDevice['kind'];

export async function serveEmulatedDevice(kind: EmulatedDeviceKind, options: ServeOptions = {}): Promise<ServedDevice> {
  const pair = await PtyPair.create({ dir: options.dir, hostName: options.hostName, deviceName: `${options.hostName ?? 'host'}-device` });
  const common = { path: pair.devicePath, seed: options.seed, timers: options.timers, faults: options.faults };
  const emulator =
    kind === 'pulsepal'
      ? new PulsePalEmulator({ ...common, firmwareVersion: options.firmwareVersion })
      : kind === 'openbci'
        ? new CytonEmulator({ ...common, daisyFitted: options.daisyFitted, signal: options.signal })
        : new ThorlabsEmulator(common);
  try {
    await emulator.start();
  } catch (error) {
    await pair.close();
    throw error;
  }
  return {
    kind,
    emulator,
    pair,
    hostPath: pair.hostPath,
    unplug: () => pair.stop(),
    async replug() {
      await pair.start();
      await emulator.start();
    },
    async close() {
      await emulator.close();
      await pair.close();
    },
  } as ServedDevice;
}
