/**
 * The simulation as an Intan RHX controller: RhxEmulator's command and waveform servers, with the
 * running simulation's samples as every amplifier channel's wideband signal (rescaled to RHX's
 * 0.195 µV per count — bit for bit when the simulation itself digitises at 0.195 µV, as it does on
 * every probe but Neuropixels), its channel count spread over ports A… in 128s, and its rate.
 *
 * Between runs the controller takes nothing, so what the simulation produces meanwhile is thrown
 * away: a run starts with the newest samples. RHX restarts its timestamp at each run; which
 * simulation sample timestamp 0 is gets logged, to tie the stream to the ground truth.
 */
import { OptoloopError } from '../../../src/core/errors.js';
import type { RunningDevice, ServeContext, SimDeviceServer } from '../../serve.js';
import { RhxEmulator } from '../intan-rhx/rhx-emulator.js';
import { everyInterval, faultNote, tcpFaults, yamlFlow } from './common.js';
import { LiveSimFrames } from './live-frames.js';

const RHX_UV_PER_COUNT = 0.195;
const CHANNELS_PER_PORT = 128;
const PORTS = 'ABCDEFGH';

export const intanRhxServer: SimDeviceServer = {
  name: 'intan-rhx',
  description: 'Intan RHX controller: TCP command server + waveform server',
  async start(context: ServeContext): Promise<RunningDevice> {
    const sim = context.simulation;
    const channelCount = sim.generator.channelCount;
    const rate = sim.options.sampleRateHz;
    if (channelCount > CHANNELS_PER_PORT * PORTS.length) {
      throw new OptoloopError('E_OPTIONS_INVALID', `intan-rhx: RHX has at most ${CHANNELS_PER_PORT * PORTS.length} amplifier channels (ports A–H × 128); the simulation has ${channelCount}`, { stage: 'sim --serve' });
    }
    const perPort: Record<string, number> = {};
    const names: string[] = [];
    for (let c = 0; c < channelCount; c++) {
      const port = PORTS[Math.floor(c / CHANNELS_PER_PORT)];
      perPort[port] = (perPort[port] ?? 0) + 1;
      names.push(`${port}-${String(c % CHANNELS_PER_PORT).padStart(3, '0')}`);
    }
    let emulator: RhxEmulator | null = null;
    const frames = new LiveSimFrames(context.source, { uvPerCount: RHX_UV_PER_COUNT, consuming: () => emulator?.runMode === 'Run', capacityFrames: Math.round(rate * 2) });
    const commandPort = context.ports['intan-rhx'] ?? 0;
    emulator = new RhxEmulator({
      host: context.host,
      commandPort,
      waveformPort: context.ports['intan-rhx-waveform'] ?? (commandPort ? commandPort + 1 : 0),
      amplifiersPerPort: perPort,
      sampleRateHz: rate,
      provider: frames,
      commandFaults: tcpFaults(context, 'non-printable', 1),
      waveformFaults: tcpFaults(context, 'binary', 2),
    });
    const rhx = emulator;
    frames.attach();
    try {
      await rhx.start();
    } catch (error) {
      frames.detach();
      throw new OptoloopError('E_DEVICE_NOT_FOUND', `intan-rhx: cannot listen on ${context.host}:${commandPort} (${(error as Error).message})`, { stage: 'sim --serve', cause: error });
    }
    // Each run's first frame, once it has been handed out: its simulation sample.
    let reported = 0;
    let overflowSeen = 0;
    const watch = setInterval(() => {
      while (reported < rhx.runs.length && frames.framesRead > rhx.runs[reported].providerFrame) {
        const run = rhx.runs[reported++];
        const sample = frames.sampleOf(run.providerFrame);
        context.log(`run ${reported}: RHX timestamp ${run.timestamp} = simulation sample ${sample} (${(sample / rate).toFixed(3)} s)`);
      }
      if (frames.overflowFrames > 0 && overflowSeen !== frames.overflowFrames) {
        overflowSeen = frames.overflowFrames;
        context.log(`the client fell ${Math.round(rate * 2)} frames behind: ${overflowSeen} frames dropped so far, timestamps no longer follow the simulation exactly`);
      }
    }, 20);
    const stopFaults = everyInterval(context, () => rhx.disconnect('reset'));
    const host = context.host;
    return {
      address: `${host}:${rhx.commandPort} (waveform ${host}:${rhx.waveformPort})`,
      config: `source: ${yamlFlow({ kind: 'intan-rhx', host, commandPort: rhx.commandPort, dataPort: rhx.waveformPort, channels: names })}`,
      notes: [
        `${channelCount} amplifier channels (${names[0]} … ${names[names.length - 1]}) at ${rate} Hz: the simulation's samples at ${RHX_UV_PER_COUNT} µV/count` +
          (Math.abs(sim.uvPerCount[0] - RHX_UV_PER_COUNT) < 1e-6 ? ' (bit for bit)' : ` (rescaled from its ${Number(sim.uvPerCount[0].toPrecision(6))} µV/count)`) +
          '; each run logs which simulation sample its timestamp 0 is',
        ...faultNote(context, { fragment: 'replies and waveform writes fragmented', garbage: 'garbage between replies and blocks', disconnect: `connections reset every ${context.faultIntervalMs / 1000} s` }),
      ],
      async stop() {
        clearInterval(watch);
        await stopFaults();
        await rhx.stop();
        frames.detach();
      },
    };
  },
};
