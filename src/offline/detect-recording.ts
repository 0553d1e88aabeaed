/**
 * Offline detection through the very same pipeline the daemon runs live: a file replayed as fast as
 * the pipeline takes it, each spike written as a CSV row `sample,time_s,channel,amplitude_uv`
 * (sample counted from the file's first sample; channel = index among the recording's neural
 * channels; amplitude = filtered trough in µV).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { tap } from 'rxjs';
import type { SampleBlock } from '../core/sample-block.js';
import { OptoloopError } from '../core/errors.js';
import type { StreamInfo } from '../core/sample-source.js';
import type { RigConfig } from '../config/rig-config.js';
import { fileSourceFromConfig } from '../io/open-recording.js';
import { buildPipeline } from '../pipeline/build-pipeline.js';
import { resolveLayout } from '../daemon/layout.js';

export const SPIKE_CSV_HEADER = 'sample,time_s,channel,amplitude_uv';

export interface DetectRecordingOptions {
  readonly recordingPath: string;
  readonly outPath: string;
  /** The pipeline and probe sections to use (the source section is ignored). */
  readonly config: RigConfig;
  readonly format?: 'auto' | 'spikeglx' | 'openephys' | 'intan-rhd' | 'raw';
  readonly warn?: (message: string) => void;
  readonly onOpen?: (stream: StreamInfo) => void;
  readonly onProgress?: (framesDone: number) => void;
}

export interface DetectRecordingResult {
  readonly stream: StreamInfo;
  readonly frames: number;
  readonly spikes: number;
  readonly layoutOrigin: string;
}

const FLUSH_BYTES = 1 << 20;

export async function detectRecording(options: DetectRecordingOptions): Promise<DetectRecordingResult> {
  const { config } = options;
  const source = fileSourceFromConfig({
    kind: 'file',
    path: options.recordingPath,
    format: options.format ?? 'auto',
    stream: null,
    channels: 'neural',
    speed: 1,
    realTime: false,
    blockFrames: 1024,
    loop: false,
  });
  const stream = await source.open();
  options.onOpen?.(stream);
  const { layout, origin } = resolveLayout(config.probe, stream, source.recording?.layout ?? null, options.warn ?? (() => {}));
  let fd: number;
  try {
    fd = openSync(options.outPath, 'w');
  } catch (cause) {
    await source.close();
    throw new OptoloopError('E_FILE_WRITE', `${options.outPath}: cannot create (${(cause as Error).message})`, { stage: 'detect', cause });
  }
  let text = `${SPIKE_CSV_HEADER}\n`;
  let spikes = 0;
  let frames = 0;
  let firstSample: number | null = null;
  const flush = () => {
    writeSync(fd, text);
    text = '';
  };
  try {
    await new Promise<void>((resolve, reject) => {
      source.blocks$
        .pipe(
          tap((block: SampleBlock) => {
            firstSample ??= block.firstSampleIndex;
            frames += block.frameCount;
            options.onProgress?.(frames);
          }),
          buildPipeline(config.pipeline, layout),
        )
        .subscribe({
          next: ({ spikes: batch }) => {
            const rate = batch.sampleRateHz;
            for (let k = 0; k < batch.count; k++) {
              const sample = batch.peakSampleIndex[k] - (firstSample ?? 0);
              text += `${sample},${(sample / rate).toFixed(6)},${batch.peakChannel[k]},${batch.amplitudeUv[k].toFixed(2)}\n`;
            }
            spikes += batch.count;
            if (text.length > FLUSH_BYTES) flush();
          },
          error: reject,
          complete: resolve,
        });
      source.start().catch(reject);
    });
    flush();
  } finally {
    closeSync(fd);
    if (source.state !== 'closed') await source.close();
  }
  return { stream, frames, spikes, layoutOrigin: origin };
}
