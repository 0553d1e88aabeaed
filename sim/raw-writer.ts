/**
 * Writes the simulated samples as raw int16 little-endian, interleaved frame-major (the layout of
 * SpikeGLX .bin and of every block), plus a JSON sidecar that says how to read it:
 *   recording.bin   int16 LE, frames × channels
 *   recording.json  { format: "optoloop-raw", dtype: "int16", byteOrder: "little", channelCount,
 *                     sampleRateHz, uvPerCount[], channelNames[], probe {name, xUm[], yUm[], shank[]},
 *                     totalFrames, … }
 * A stop-gap until the io branch's SpikeGLX writer is on main: it is then the writer to use (this
 * file does not write SpikeGLX). Python: neo.rawio.RawBinarySignalRawIO(filename, dtype="int16",
 * nb_channel=channelCount, sampling_rate=sampleRateHz) reads recording.bin as is.
 */
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { OptoloopError } from '../src/core/errors.js';
import type { ChannelLayout } from '../src/probe/channel-layout.js';

export interface RecordingWriter {
  /** Appends `frames` frames of interleaved samples. */
  write(samples: Int16Array, frames: number): void;
  /** Writes the sidecar and closes; returns the files written. */
  close(extra?: Record<string, unknown>): string[];
}

export interface RawRecordingMeta {
  readonly sampleRateHz: number;
  readonly channelCount: number;
  readonly uvPerCount: Float32Array;
  readonly layout: ChannelLayout;
  readonly description: string;
}

export const RAW_FILES = { bin: 'recording.bin', sidecar: 'recording.json' } as const;

export class RawRecordingWriter implements RecordingWriter {
  private readonly fd: number;
  private frames = 0;
  readonly binPath: string;
  readonly sidecarPath: string;

  constructor(private readonly dir: string, private readonly meta: RawRecordingMeta) {
    this.binPath = join(dir, RAW_FILES.bin);
    this.sidecarPath = join(dir, RAW_FILES.sidecar);
    try {
      this.fd = openSync(this.binPath, 'w');
    } catch (cause) {
      throw new OptoloopError('E_FILE_WRITE', `${this.binPath}: cannot create (${(cause as Error).message})`, { stage: 'sim.writer', cause, details: { file: this.binPath } });
    }
  }

  write(samples: Int16Array, frames: number): void {
    const n = frames * this.meta.channelCount;
    // Int16Array is little-endian on every platform Node runs on that we support (x86, arm64).
    const bytes = new Uint8Array(samples.buffer, samples.byteOffset, n * 2);
    let written = 0;
    try {
      while (written < bytes.length) written += writeSync(this.fd, bytes, written, bytes.length - written);
    } catch (cause) {
      throw new OptoloopError('E_FILE_WRITE', `${this.binPath}: write failed at byte ${this.frames * this.meta.channelCount * 2 + written} (${(cause as Error).message})`, { stage: 'sim.writer', cause, details: { file: this.binPath } });
    }
    this.frames += frames;
  }

  close(extra: Record<string, unknown> = {}): string[] {
    closeSync(this.fd);
    const m = this.meta;
    const sidecar = {
      format: 'optoloop-raw',
      version: 1,
      data: RAW_FILES.bin,
      dtype: 'int16',
      byteOrder: 'little',
      layout: 'interleaved frame-major (all channels of frame 0, then frame 1, …)',
      channelCount: m.channelCount,
      sampleRateHz: m.sampleRateHz,
      totalFrames: this.frames,
      uvPerCount: Array.from(m.uvPerCount),
      channelNames: m.layout.contactIds.map((id, c) => `sim${c}:${id}`),
      probe: { name: m.layout.probeName, xUm: Array.from(m.layout.xUm), yUm: Array.from(m.layout.yUm), shank: Array.from(m.layout.shank), shankNames: m.layout.shankNames },
      description: m.description,
      ...extra,
    };
    try {
      writeFileSync(this.sidecarPath, `${JSON.stringify(sidecar, null, 1)}\n`);
    } catch (cause) {
      throw new OptoloopError('E_FILE_WRITE', `${this.sidecarPath}: cannot write (${(cause as Error).message})`, { stage: 'sim.writer', cause });
    }
    return [this.binPath, this.sidecarPath];
  }
}
