import { OptoloopError } from '../core/errors.js';
import type { StreamInfo } from '../core/sample-source.js';
import type { ProbeConfig } from '../config/rig-config.js';
import { layoutFromProbe, linearLayout, type ChannelLayout } from '../probe/channel-layout.js';
import { readProbeFile } from '../probe/probeinterface.js';

/**
 * The geometry the pipeline works with, in order of authority: the probe file the config names
 * (with its channel map); the geometry the source carries (SpikeGLX ~snsGeomMap, the simulator's
 * probe); otherwise a straight line of channels — said out loud, because neighbourhoods on a made-up
 * line are only as good as the guess.
 */
export function resolveLayout(
  probe: ProbeConfig,
  stream: StreamInfo,
  fromSource: ChannelLayout | null,
  warn: (message: string) => void,
): { layout: ChannelLayout; origin: string } {
  if (probe.file) {
    const layout = layoutFromProbe(readProbeFile(probe.file, probe.probeIndex), stream.channelCount, {
      channelContactIds: probe.channelContactIds ?? undefined,
    });
    return { layout, origin: `probe file ${probe.file}` };
  }
  if (fromSource) {
    if (fromSource.channelCount !== stream.channelCount) {
      throw new OptoloopError(
        'E_PROBE_INVALID',
        `the source's geometry has ${fromSource.channelCount} channels but its stream has ${stream.channelCount}: set probe.file in the config`,
        { stage: 'daemon' },
      );
    }
    return { layout: fromSource, origin: `the source (${fromSource.probeName})` };
  }
  warn(`no probe geometry for ${stream.channelCount} channels: laying them on a line 20 µm apart; set probe.file for real neighbourhoods`);
  return { layout: linearLayout(stream.channelCount), origin: 'a straight line (no probe given)' };
}
