/**
 * File formats and file replay: the public surface of `src/io` (see docs/io.md).
 */
export type { ChannelSelection, FrameRun, RecordingFormat, RecordingReader } from './recording-reader.js';
export { detectFormat, fileSourceFromConfig, openRecording, type FileSourceExtras, type OpenRecordingOptions } from './open-recording.js';
export { FileReplaySource, type FileReplayOptions } from './file-replay-source.js';
export { SpikeGlxReader, spikeGlxPaths } from './spikeglx/reader.js';
export { SpikeGlxWriter, spikeGlxBinName, type SpikeGlxWriterOptions } from './spikeglx/writer.js';
export { SpikeGlxMeta, parseChannelSubset, formatChannelSubset } from './spikeglx/meta.js';
export { describeSpikeGlxStream, type SpikeGlxStream, type SpikeGlxChannel } from './spikeglx/stream.js';
export { OpenEphysReader, type OpenEphysReaderOptions } from './openephys/reader.js';
export {
  OpenEphysRecordingWriter,
  ContinuousStreamWriter,
  type OpenEphysRecordingOptions,
  type ContinuousStreamOptions,
  type OpenEphysChannelKind,
} from './openephys/writer.js';
export { locateOebin, parseOebin, type Oebin, type OebinStream, type OebinChannel } from './openephys/oebin.js';
export { IntanRhdReader, RHD_AMPLIFIER_UV_PER_COUNT } from './intan/reader.js';
export { readRhdHeader, type RhdHeader, type RhdChannel } from './intan/rhd-header.js';
export { RawReader, readRawSidecar } from './raw/reader.js';
export { RawWriter, type RawWriterOptions } from './raw/writer.js';
export { rawSidecarSchema, sidecarPathOf, RAW_SIDECAR_FORMAT, type RawSidecar } from './raw/sidecar.js';
export {
  readNpy,
  readNpyHeader,
  writeNpy,
  encodeNpy,
  decodeNpy,
  encodeNpyHeader,
  encodeNpyHeaderWithDescr,
  npyToFloat64,
  type NpyArray,
  type NpyDtype,
  type NpyHeader,
  type NpyTypedArray,
} from './npy.js';
export { NpyAppendWriter, type NpyAppendWriterOptions } from './npy-append-writer.js';
