/**
 * An emulated OpenBCI Cyton (8 channels, 250 Hz) behind its dongle on a pseudo-terminal. It plays
 * its own seeded EEG-like signal (alpha-band sinusoids and noise, `SeededCytonSignal`), not the
 * simulated probe: an extracellular recording at 30 kHz has nothing to show at 250 Hz.
 */
import type { RunningDevice, ServeContext, SimDeviceServer } from '../../serve.js';
import { serveEmulatedDevice } from '../serve.js';
import { faultNote, serialFaults, vanishEvery, yamlFlow } from './common.js';

export const openBciServer: SimDeviceServer = {
  name: 'openbci',
  description: 'OpenBCI Cyton behind its USB dongle on a pseudo-terminal (its own seeded EEG-like signal)',
  async start(context: ServeContext): Promise<RunningDevice> {
    const served = await serveEmulatedDevice('openbci', { dir: context.ptyDir, hostName: 'openbci', seed: context.seed, faults: serialFaults(context) });
    const stopFaults = vanishEvery(context, () => served.unplug(), () => served.replug());
    return {
      address: served.hostPath,
      config: `source: ${yamlFlow({ kind: 'openbci', port: served.hostPath })}`,
      notes: [
        `8 channels at 250 Hz of a seeded EEG-like signal (alpha-band sinusoids + noise, seed ${context.seed}), not the simulated probe`,
        ...faultNote(context, { fragment: 'packets fragmented', garbage: 'garbage between packets', disconnect: `unplugged for 1 s every ${context.faultIntervalMs / 1000} s` }),
      ],
      async stop() {
        await stopFaults();
        await served.close();
      },
    };
  },
};
