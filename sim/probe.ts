/**
 * The simulated probe: a real geometry from the probeinterface library (bundled in sim/probes,
 * MIT, SpikeInterface/probeinterface_library) or a file the user names.
 */
import { join } from 'node:path';
import { OptoloopError } from '../src/core/errors.js';
import { packageRoot } from '../src/core/package-root.js';
import { buildLayout, linearLayout, type ChannelLayout } from '../src/probe/channel-layout.js';
import { readProbeFile } from '../src/probe/probeinterface.js';

export const BUNDLED_PROBES = ['NP1000', 'A1x32-Poly3-10mm-50-177', 'A4x8-5mm-100-200-177'] as const;

export interface SimProbe {
  readonly layout: ChannelLayout;
  /** Neuropixels 1.0: a 10-bit ADC at 2.34375 µV/bit. */
  readonly neuropixels1: boolean;
}

export function bundledProbePath(name: string): string {
  return join(packageRoot(), 'sim', 'probes', `${name}.json`);
}

/**
 * `auto` picks NP1000 for up to 384 channels (A1x32 for exactly 32) and a linear layout above.
 * On NP1000 the channels are bank 0: electrodes 0 … channels − 1 (Neuropixels 1.0 records 384
 * at once).
 */
export function simProbe(name: string, channels: number): SimProbe {
  if (name === 'auto') {
    if (channels === 32) name = 'A1x32-Poly3-10mm-50-177';
    else if (channels <= 384) name = 'NP1000';
    else return { layout: linearLayout(channels), neuropixels1: false };
  }
  const path = (BUNDLED_PROBES as readonly string[]).includes(name) ? bundledProbePath(name) : name;
  const probe = readProbeFile(path);
  const isNp1 = probe.modelName === 'NP1000' || probe.modelName.startsWith('PRB_1_4');
  const limit = isNp1 ? Math.min(384, probe.contacts.length) : probe.contacts.length;
  if (channels > limit) {
    throw new OptoloopError(
      'E_OPTIONS_INVALID',
      `sim: probe ${probe.modelName} (${path}) records at most ${limit} channels${isNp1 ? ' (bank 0)' : ''}; expected channels ≤ ${limit}, got ${channels}`,
      { stage: 'sim', details: { probe: path, channels, limit } },
    );
  }
  const contacts = probe.contacts.slice(0, channels);
  const layout = buildLayout(probe.modelName, contacts);
  return { layout, neuropixels1: isNp1 };
}
