/**
 * Where `optoloop sim` writes its samples: the io module's writers (src/io), not a copy of them.
 *   spikeglx  <dir>/sim_g0_t0.imec0.ap.bin + .meta (SpikeGLX imec AP stream: NP1.0-type meta whose
 *             gain gives the stream's µV per count, ~snsGeomMap from the simulated probe)
 *   raw       <dir>/recording.bin + recording.bin.json (optoloop raw int16 sidecar) + probe.json
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OptoloopError } from '../src/core/errors.js';
import { RawWriter } from '../src/io/raw/writer.js';
import { SpikeGlxWriter, spikeGlxBinName } from '../src/io/spikeglx/writer.js';
import type { ChannelLayout } from '../src/probe/channel-layout.js';

export type RecordingFormat = 'spikeglx' | 'raw';

export interface RecordingWriter {
  /** Appends frames (interleaved int16 at the recording's scale). */
  writeFrames(samples: Int16Array, frames: number): void;
  /** Closes; returns the files written. */
  close(): string[];
}

export interface RecordingTarget {
  readonly dir: string;
  readonly format: RecordingFormat;
  readonly sampleRateHz: number;
  readonly uvPerCount: Float32Array;
  readonly layout: ChannelLayout;
  readonly description: string;
}

export function createRecordingWriter(target: RecordingTarget): RecordingWriter {
  const { dir, layout } = target;
  const channelCount = layout.channelCount;
  if (target.format === 'spikeglx') {
    const writer = new SpikeGlxWriter({
      binPath: join(dir, spikeGlxBinName('sim')),
      sampleRateHz: target.sampleRateHz,
      channelCount,
      uvPerCount: target.uvPerCount,
      layout,
      probePartNumber: layout.probeName,
      userNotes: target.description,
    });
    return {
      writeFrames: (samples, frames) => writer.writeFrames(samples, frames),
      close: () => {
        writer.close();
        return [writer.binPath, writer.metaPath];
      },
    };
  }
  const probePath = join(dir, 'probe.json');
  try {
    writeFileSync(probePath, `${JSON.stringify(probeInterfaceOf(layout))}\n`);
  } catch (cause) {
    throw new OptoloopError('E_FILE_WRITE', `${probePath}: cannot write (${(cause as Error).message})`, { stage: 'sim', cause });
  }
  const writer = new RawWriter({
    dataPath: join(dir, 'recording.bin'),
    sampleRateHz: target.sampleRateHz,
    channelCount,
    uvPerCount: target.uvPerCount,
    channelNames: layout.contactIds.map((id, c) => `sim${c}:${id}`),
    probeFile: probePath,
    description: target.description,
  });
  return {
    writeFrames: (samples, frames) => writer.writeFrames(samples, frames),
    close: () => {
      writer.close();
      return [writer.dataPath, writer.sidecarPath, probePath];
    },
  };
}

/** The simulated channels as a probeinterface document, channel c wired to contact c. */
export function probeInterfaceOf(layout: ChannelLayout): Record<string, unknown> {
  return {
    specification: 'probeinterface',
    version: '0.2.21',
    probes: [
      {
        ndim: 2,
        si_units: 'um',
        annotations: { model_name: layout.probeName, manufacturer: 'optoloop-sim' },
        contact_positions: Array.from(layout.xUm, (x, c) => [x, layout.yUm[c]]),
        contact_ids: [...layout.contactIds],
        shank_ids: Array.from(layout.shank, (s) => layout.shankNames[s]),
        device_channel_indices: Array.from(layout.xUm, (_, c) => c),
      },
    ],
  };
}
