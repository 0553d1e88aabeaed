/**
 * The simulation's light behind our firmware bridge: the firmware's own core built for the host
 * (`make -C firmware-bridge/host`) on its own pseudo-terminal, with every gate edge it emits turned
 * into light. The emulator logs each edge with the time its scheduler set for it; the light's width
 * comes from those times (hardware timing, exact to a sample), its level from the output's 16-bit
 * level, its onset from when the on-edge reached us (quantised to the simulation's block).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmulatorProcess } from '../../../drivers/firmware-bridge/emulator.js';
import type { RunningDevice, ServeContext, SimDeviceServer } from '../../serve.js';
import { faultNote, vanishEvery, yamlFlow } from './common.js';
import { EdgeLogTail } from './edge-log-tail.js';
import { EmulatorLight } from './emulator-light.js';

export const firmwareBridgeServer: SimDeviceServer = {
  name: 'firmware-bridge',
  description: 'optoloop firmware bridge (the firmware core as a host emulator) on a pseudo-terminal; its gates light the simulation',
  async start(context: ServeContext): Promise<RunningDevice> {
    const linkPath = join(context.ptyDir, 'firmware-bridge');
    const light = new EmulatorLight(context.simulation.generator, { reason: 'firmware-bridge' });
    const levels = new Float64Array(16);
    const onLine = (line: string): void => {
      const f = line.split(' ');
      const channel = Number(f[1]);
      if (!(channel >= 0 && channel < levels.length)) return;
      if (f[0] === 'level') levels[channel] = Number(f[2]) / 0xffff;
      else if (f[0] === 'gate' && f[2] === '1') {
        if (levels[channel] > 0) light.on(channel, levels[channel], Number(f[3]));
      } else if (f[0] === 'gate') light.off(channel, Number(f[3]));
    };
    let generation = 0;
    let logPath = '';
    let tail: EdgeLogTail | null = null;
    let bridge: EmulatorProcess | null = null;
    const launch = async (): Promise<void> => {
      logPath = join(context.ptyDir, `firmware-bridge.events.${generation++}.log`);
      writeFileSync(logPath, ''); // exists before the emulator opens it, so the tail can follow it
      tail = new EdgeLogTail(logPath, onLine);
      bridge = await EmulatorProcess.start({
        linkPath,
        logPath,
        seed: context.seed,
        garbageEvery: context.faults.has('garbage') ? 7 : undefined,
        byteDelayUs: context.faults.has('fragment') ? 100 : undefined,
      });
    };
    const halt = async (): Promise<void> => {
      await bridge?.stop();
      bridge = null;
      tail?.close();
      tail = null;
      rmSync(logPath, { force: true });
    };
    light.attach();
    try {
      await launch();
    } catch (error) {
      light.detach();
      await halt();
      throw error;
    }
    const stopFaults = vanishEvery(context, halt, launch);
    return {
      address: linkPath,
      config: `sinks: ${yamlFlow({ bridge: { kind: 'firmware-bridge', path: linkPath } })}`,
      notes: [
        'outputs 1–4 light the simulated site on every gate edge the firmware emits, width from its own edge times, level from the programmed 16-bit level',
        ...faultNote(context, { fragment: 'frames written a byte at a time (100 µs apart)', garbage: 'line noise before every 7th frame', disconnect: `the device vanishes for 1 s every ${context.faultIntervalMs / 1000} s` }),
      ],
      summary: () => light.summary(),
      async stop() {
        await stopFaults();
        light.detach();
        await halt();
      },
    };
  },
};
