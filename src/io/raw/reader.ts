/**
 * Reads a raw interleaved int16 file described by its JSON sidecar (`sidecar.ts`). The sidecar is
 * validated with the config schema DSL, so a mistake is reported with its JSON path.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { OptoloopError } from '../../core/errors.js';
import type { StreamInfo } from '../../core/sample-source.js';
import { validate } from '../../config/schema.js';
import { layoutFromProbe, type ChannelLayout } from '../../probe/channel-layout.js';
import { readProbeFile } from '../../probe/probeinterface.js';
import { fileMalformed, fileNotFound, IO_STAGE } from '../file-errors.js';
import { assertLittleEndianHost, closeQuietly, fileSizeOf, openForReading } from '../fs-sync.js';
import { InterleavedFrameReader } from '../interleaved-frame-reader.js';
import type { FrameRun, RecordingReader } from '../recording-reader.js';
import { rawSidecarSchema, sidecarPathOf, type RawSidecar } from './sidecar.js';

/** Reads and validates a sidecar; errors name the file and the JSON path. */
export function readRawSidecar(sidecarPath: string): RawSidecar {
  let text: string;
  try {
    text = readFileSync(sidecarPath, 'utf8');
  } catch (cause) {
    throw fileNotFound(sidecarPath, cause, 'raw recording sidecar (<data file>.json)');
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (cause) {
    throw new OptoloopError('E_FILE_MALFORMED', `${sidecarPath}: not valid JSON (${(cause as Error).message}): expected a raw recording sidecar`, {
      stage: IO_STAGE,
      details: { file: sidecarPath },
      cause,
    });
  }
  const result = validate(rawSidecarSchema, document);
  if (!result.ok) {
    const lines = result.issues.map((i) => `${i.path}: ${i.message}`);
    throw new OptoloopError('E_FILE_MALFORMED', `${sidecarPath}: invalid raw recording sidecar: ${lines.join('; ')}`, {
      stage: IO_STAGE,
      details: { file: sidecarPath, issues: result.issues },
    });
  }
  return result.value;
}

export class RawReader implements RecordingReader {
  readonly format = 'raw' as const;
  readonly dataPath: string;
  readonly sidecarPath: string;
  readonly sidecar: RawSidecar;
  readonly info: StreamInfo;
  readonly layout: ChannelLayout | null;
  readonly firstSampleIndex: number;
  readonly notes: readonly string[] = [];
  private fd: number | null;
  private readonly frames: InterleavedFrameReader;
  private readonly run: FrameRun = { frames: 0, sampleIndex: 0, deviceTimestamp: null };

  constructor(dataPath: string, sidecarPath = sidecarPathOf(dataPath)) {
    assertLittleEndianHost(dataPath);
    this.dataPath = dataPath;
    this.sidecarPath = sidecarPath;
    const sidecar = readRawSidecar(sidecarPath);
    this.sidecar = sidecar;
    const n = sidecar.channelCount;
    this.layout = sidecar.probeFile ? layoutFromProbe(readProbeFile(resolve(dirname(sidecarPath), sidecar.probeFile)), n) : null;
    const fd = openForReading(dataPath, 'raw recording');
    try {
      const size = fileSizeOf(fd);
      const frameBytes = n * 2;
      if (size < sidecar.dataOffsetBytes) {
        throw fileMalformed({ file: dataPath, field: 'size', expected: `at least dataOffsetBytes (${sidecar.dataOffsetBytes}) bytes`, actual: `${size}` });
      }
      const dataBytes = size - sidecar.dataOffsetBytes;
      if (dataBytes % frameBytes !== 0) {
        throw fileMalformed({
          file: dataPath,
          field: 'size',
          expected: `a whole number of frames of ${n} channels (${frameBytes} bytes) after ${sidecar.dataOffsetBytes} header bytes`,
          actual: `${dataBytes} bytes (${dataBytes % frameBytes} left over)`,
        });
      }
      const totalFrames = dataBytes / frameBytes;
      this.frames = new InterleavedFrameReader(fd, dataPath, sidecar.dataOffsetBytes, n, totalFrames, Int32Array.from({ length: n }, (_, c) => c));
      this.fd = fd;
    } catch (error) {
      closeQuietly(fd);
      throw error;
    }
    this.firstSampleIndex = sidecar.firstSampleIndex;
    const uv = sidecar.uvPerCount;
    this.info = {
      streamId: `raw:${basename(dataPath)}`,
      sampleRateHz: sidecar.sampleRateHz,
      channelCount: n,
      channelNames: sidecar.channelNames ?? Array.from({ length: n }, (_, c) => String(c)),
      format: 'int16',
      uvPerCount: typeof uv === 'number' ? new Float32Array(n).fill(uv) : Float32Array.from(uv),
      description: `raw int16 ${basename(dataPath)}${sidecar.description ? ` (${sidecar.description})` : ''}, ${n} channels at ${sidecar.sampleRateHz} Hz`,
      totalFrames: this.frames.totalFrames,
    };
  }

  read(startFrame: number, maxFrames: number, out: Int16Array): FrameRun {
    const count = Math.max(0, Math.min(maxFrames, this.frames.totalFrames - startFrame));
    if (count > 0) this.frames.readFrames(startFrame, count, out);
    this.run.frames = count;
    this.run.sampleIndex = this.firstSampleIndex + startFrame;
    return this.run;
  }

  close(): void {
    closeQuietly(this.fd);
    this.fd = null;
  }
}
