/**
 * The simulation as SpikeGLX's remote command server: one imec probe stream (js 2, ip 0) whose AP
 * channels are the simulation's channels at its own scale (AP gain chosen so that
 * GETSTREAMI16TOVOLTS is the simulation's µV per count: bit for bit), no LF channels, and the SY
 * channel's 1 Hz sync wave. The stream starts with the simulation, so its sample count is the
 * simulation's sample index (logged once, with any offset).
 */
import { OptoloopError } from '../../../src/core/errors.js';
import type { RunningDevice, ServeContext, SimDeviceServer } from '../../serve.js';
import { SpikeglxEmulator } from '../spikeglx/spikeglx-emulator.js';
import { everyInterval, faultNote, tcpFaults, yamlFlow } from './common.js';
import { LiveSimFrames } from './live-frames.js';

/** Imec: volts per count = 0.6 V / 512 / gain (protocols.md §4.1). */
const IMEC_VOLTS_PER_COUNT_AT_GAIN_1 = 0.6 / 512;

export const spikeglxServer: SimDeviceServer = {
  name: 'spikeglx',
  description: 'SpikeGLX remote command server (imec probe stream, FETCH)',
  async start(context: ServeContext): Promise<RunningDevice> {
    const sim = context.simulation;
    const channelCount = sim.generator.channelCount;
    const rate = sim.options.sampleRateHz;
    const uvPerCount = sim.uvPerCount[0];
    const frames = new LiveSimFrames(context.source, { uvPerCount, capacityFrames: Math.round(rate) });
    const port = context.ports.spikeglx ?? 0;
    const emulator = new SpikeglxEmulator({
      host: context.host,
      port,
      probes: [{ apChannels: channelCount, lfChannels: 0, sampleRateHz: rate, apGain: IMEC_VOLTS_PER_COUNT_AT_GAIN_1 / (uvPerCount * 1e-6), provider: frames, bufferSamples: Math.round(rate * 4) }],
      faults: tcpFaults(context, 'non-printable', 3),
    });
    frames.attach();
    try {
      await emulator.start();
    } catch (error) {
      frames.detach();
      throw new OptoloopError('E_DEVICE_NOT_FOUND', `spikeglx: cannot listen on ${context.host}:${port} (${(error as Error).message})`, { stage: 'sim --serve', cause: error });
    }
    const stream = emulator.streams[0];
    // SpikeGLX acquires whether or not anyone fetches: keep the stream's ring moving.
    let logged = false;
    const pump = setInterval(() => {
      stream.advance();
      if (!logged && frames.framesRead > 0) {
        logged = true;
        context.log(`sample count 0 = simulation sample ${frames.sampleOf(0)}`);
      }
    }, 20);
    const stopFaults = everyInterval(context, () => emulator.disconnect('reset'));
    const host = context.host;
    return {
      address: `${host}:${emulator.port}`,
      config: `source: ${yamlFlow({ kind: 'spikeglx-remote', host, port: emulator.port, js: 2, ip: 0 })}`,
      notes: [
        `imec stream js 2 ip 0: ${channelCount} AP channels at ${rate} Hz, ${Number(uvPerCount.toPrecision(6))} µV/count (the simulation's samples bit for bit), SY channel ${channelCount}; FETCH keeps the last 4 s`,
        ...faultNote(context, { fragment: 'replies fragmented', garbage: 'non-printable garbage between replies', disconnect: `connections reset every ${context.faultIntervalMs / 1000} s` }),
      ],
      async stop() {
        clearInterval(pump);
        await stopFaults();
        await emulator.stop();
        frames.detach();
      },
    };
  },
};
