/**
 * The simulation's light behind an emulated Pulse Pal 2 on a pseudo-terminal: every train the
 * Pulse Pal starts (a soft trigger, op 77) becomes light with the programmed pulse onsets, phase-1
 * width and a level from the programmed phase-1 voltage (volts / 5 V, the Pulse Pal driver's
 * default full scale; 0 V or below is no light), so a program driving the emulated Pulse Pal makes
 * the simulated opsin-expressing neurons answer. An abort (op 80) stops the light.
 */
import type { RunningDevice, ServeContext, SimDeviceServer } from '../../serve.js';
import type { PulsePalEmulator } from '../pulsepal/emulator.js';
import { serveEmulatedDevice } from '../serve.js';
import { faultNote, serialFaults, vanishEvery, yamlFlow } from './common.js';
import { EmulatorLight } from './emulator-light.js';

/** Volts at light level 1: the default `fullScaleVolts` of the pulsepal sink. */
export const PULSEPAL_FULL_SCALE_VOLTS = 5;

export const pulsePalServer: SimDeviceServer = {
  name: 'pulsepal',
  description: 'Sanworks Pulse Pal 2 (firmware 21) on a pseudo-terminal; its trains light the simulation',
  async start(context: ServeContext): Promise<RunningDevice> {
    const served = await serveEmulatedDevice('pulsepal', { dir: context.ptyDir, hostName: 'pulsepal', seed: context.seed, faults: serialFaults(context) });
    const light = new EmulatorLight(context.simulation.generator, { reason: 'pulsepal' });
    light.attach();
    let warnedUnmodelled = false;
    const subscription = (served.emulator as PulsePalEmulator).events$.subscribe((event) => {
      if (event.type === 'abort') light.abort();
      if (event.type !== 'trigger') return;
      for (const output of event.outputs) {
        if (!output.started) continue; // still playing its previous train: the firmware ignores it
        if (!output.pulseOnsetsUs) {
          if (!warnedUnmodelled) context.log(`output ${output.output + 1}: burst and custom trains are not turned into light (only plain trains are)`);
          warnedUnmodelled = true;
          continue;
        }
        const level = Math.min(1, output.volts / PULSEPAL_FULL_SCALE_VOLTS);
        if (level > 0) light.train(output.output, output.pulseOnsetsUs, output.pulseWidthUs, level);
      }
    });
    const stopFaults = vanishEvery(context, () => served.unplug(), () => served.replug());
    return {
      address: served.hostPath,
      config: `sinks: ${yamlFlow({ pulsepal: { kind: 'pulsepal', port: served.hostPath } })}`,
      notes: [
        `outputs 1–4 light the simulated site: each plain train's pulses at the programmed onsets and phase-1 width, level = phase-1 volts / ${PULSEPAL_FULL_SCALE_VOLTS} V; light starts 1 ms after the trigger reaches the simulation`,
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
