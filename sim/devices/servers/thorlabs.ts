/**
 * The simulation's light behind an emulated Thorlabs DC4104 on a pseudo-terminal: each LED output
 * switched on (`o ch 1`) lights the simulated site until it is switched off, with the width the
 * emulator timed between the two commands. Level: constant-current mode, the current / 100 mA (the
 * thorlabs sink's default full scale); brightness mode, the brightness.
 */
import type { RunningDevice, ServeContext, SimDeviceServer } from '../../serve.js';
import { serveEmulatedDevice } from '../serve.js';
import type { ThorlabsEmulator } from '../thorlabs/emulator.js';
import { faultNote, serialFaults, vanishEvery, yamlFlow } from './common.js';
import { EmulatorLight } from './emulator-light.js';

/** mA at light level 1: the default `fullScaleMa` of the thorlabs sink. */
export const THORLABS_FULL_SCALE_MA = 100;

export const thorlabsServer: SimDeviceServer = {
  name: 'thorlabs',
  description: 'Thorlabs DC4104 four-channel LED driver on a pseudo-terminal; its LEDs light the simulation',
  async start(context: ServeContext): Promise<RunningDevice> {
    const served = await serveEmulatedDevice('thorlabs', { dir: context.ptyDir, hostName: 'thorlabs', seed: context.seed, faults: serialFaults(context) });
    const emulator = served.emulator as ThorlabsEmulator;
    const light = new EmulatorLight(context.simulation.generator, { reason: 'thorlabs' });
    light.attach();
    const subscription = emulator.events$.subscribe((event) => {
      if (event.type !== 'output') return;
      const timeUs = event.timeNs / 1000;
      if (!event.on) return light.off(event.channel, timeUs);
      const level = emulator.mode === 1 ? emulator.leds[event.channel].brightnessPercent / 100 : event.currentMa / THORLABS_FULL_SCALE_MA;
      if (level > 0) light.on(event.channel, Math.min(1, level), timeUs);
    });
    const stopFaults = vanishEvery(context, () => served.unplug(), () => served.replug());
    return {
      address: served.hostPath,
      config: `sinks: ${yamlFlow({ leds: { kind: 'thorlabs', port: served.hostPath } })}`,
      notes: [
        `outputs 1–4 light the simulated site while on (host-timed: width = time between "o ch 1" and "o ch 0" as the emulator received them), level = current / ${THORLABS_FULL_SCALE_MA} mA or brightness %`,
        ...faultNote(context, { fragment: 'replies fragmented', garbage: 'garbage between replies', disconnect: `unplugged for 1 s every ${context.faultIntervalMs / 1000} s` }),
      ],
      summary: () => light.summary(),
      async stop() {
        await stopFaults();
        subscription.unsubscribe();
        light.detach();
        await served.close();
      },
    };
  },
};
