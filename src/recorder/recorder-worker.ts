/**
 * The recorder's writer thread: receives chunks of int16 frames and batches of events from the
 * Recorder and writes them with the Open Ephys writer (src/io/openephys), synchronously, so that a
 * slow disk stalls this thread and never the acquisition thread. Sample chunks go back to the
 * Recorder's pool once written.
 *
 * Files, besides the continuous stream and MessageCenter that the io writer makes:
 *   events/<stream folder>/TTL/      states.npy int16, sample_numbers.npy int64, timestamps.npy f64, full_words.npy u64
 *   spikes/<stream folder>/optoloop/ waveforms.npy int16 [S, ch, t], sample_numbers.npy int64, timestamps.npy f64,
 *                                    electrode_indices.npy uint16 (peak channel), clusters.npy uint16 (unit id + 1; 0 = unassigned)
 * Crash safety: every flush writes the samples first, then each .npy (whose header is rewritten to
 * count only rows on disk); for TTL the state file goes last, because python-neo indexes the
 * timestamps with positions found in the states.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { OptoloopError, isOptoloopError } from '../core/errors.js';
import { NpyAppendWriter } from '../io/npy-append-writer.js';
import { OpenEphysRecordingWriter, type ContinuousStreamWriter } from '../io/openephys/writer.js';
import type { EventsMessage, FromWorker, OpenMessage, SamplesMessage, ToWorker } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('recorder-worker: must run as a worker thread');

interface SpikeFiles {
  readonly waveforms: NpyAppendWriter;
  readonly sampleNumbers: NpyAppendWriter;
  readonly timestamps: NpyAppendWriter;
  readonly electrodes: NpyAppendWriter;
  readonly clusters: NpyAppendWriter;
}

interface TtlFiles {
  readonly states: NpyAppendWriter;
  readonly sampleNumbers: NpyAppendWriter;
  readonly timestamps: NpyAppendWriter;
  readonly fullWords: NpyAppendWriter;
  registered: boolean;
}

let open: OpenMessage | null = null;
let recording: OpenEphysRecordingWriter | null = null;
let stream: ContinuousStreamWriter | null = null;
let spikes: SpikeFiles | null = null;
let ttl: TtlFiles | null = null;
let spikeCount = 0;
let ttlCount = 0;
let failed = false;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

function onOpen(m: OpenMessage): void {
  open = m;
  recording = new OpenEphysRecordingWriter({ directory: m.directory });
  stream = recording.addContinuousStream({
    streamName: m.streamName,
    sampleRateHz: m.sampleRateHz,
    channelCount: m.channelCount,
    uvPerCount: m.uvPerCount,
    channelNames: m.channelNames.length === m.channelCount ? m.channelNames : undefined,
    // The Recorder hands over chunks at the flush interval; the writer keeps nothing back longer.
    bufferFrames: 65_536,
  });
  const spikeDir = join(recording.recordingDir, 'spikes', stream.folderName, 'optoloop');
  const ttlDir = join(recording.eventsDir, stream.folderName, 'TTL');
  mkdir(spikeDir);
  mkdir(ttlDir);
  const rows = [m.waveformChannels, m.waveformSamples];
  spikes = {
    waveforms: new NpyAppendWriter(join(spikeDir, 'waveforms.npy'), 'int16', { rowShape: rows, bufferBytes: 1 << 20 }),
    sampleNumbers: new NpyAppendWriter(join(spikeDir, 'sample_numbers.npy'), 'int64'),
    timestamps: new NpyAppendWriter(join(spikeDir, 'timestamps.npy'), 'float64'),
    electrodes: new NpyAppendWriter(join(spikeDir, 'electrode_indices.npy'), 'uint16'),
    clusters: new NpyAppendWriter(join(spikeDir, 'clusters.npy'), 'uint16'),
  };
  recording.addOebinEntry('spikes', {
    name: 'optoloop',
    description: 'Spikes detected online by optoloop; clusters = unit id + 1 (0 = unassigned)',
    identifier: 'optoloop.spikes',
    source_processor_id: 100,
    stream_name: m.streamName,
    sample_rate: m.sampleRateHz,
    num_channels: m.waveformChannels,
    pre_peak_samples: m.waveformSamplesBefore,
    post_peak_samples: m.waveformSamples - m.waveformSamplesBefore,
    folder: `${stream.folderName}/optoloop/`,
    source_channels: Array.from({ length: m.waveformChannels }, (_, i) => ({ name: `row${i}`, local_index: i, bit_volts: m.uvPerCount[0] })),
  });
  ttl = {
    states: new NpyAppendWriter(join(ttlDir, 'states.npy'), 'int16'),
    sampleNumbers: new NpyAppendWriter(join(ttlDir, 'sample_numbers.npy'), 'int64'),
    timestamps: new NpyAppendWriter(join(ttlDir, 'timestamps.npy'), 'float64'),
    fullWords: new NpyAppendWriter(join(ttlDir, 'full_words.npy'), 'uint64'),
    registered: false,
  };
  post({ type: 'opened', recordingDir: recording.recordingDir });
}

function mkdir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (cause) {
    throw new OptoloopError('E_FILE_WRITE', `${dir}: cannot create folder (${(cause as Error).message})`, { stage: 'recorder', cause });
  }
}

function onSamples(m: SamplesMessage): void {
  const n = open!.channelCount;
  let offset = 0;
  for (let s = 0; s < m.segmentCount; s++) {
    const frames = m.segmentFrames[s];
    stream!.writeFrames(m.samples.subarray(offset * n, (offset + frames) * n), frames, m.segmentFirstSample[s]);
    offset += frames;
  }
  post({ type: 'returned', chunkId: m.chunkId, samples: m.samples, segmentFirstSample: m.segmentFirstSample, segmentFrames: m.segmentFrames }, [
    m.samples.buffer as ArrayBuffer,
    m.segmentFirstSample.buffer as ArrayBuffer,
    m.segmentFrames.buffer as ArrayBuffer,
  ]);
}

function onEvents(m: EventsMessage): void {
  const rate = open!.sampleRateHz;
  const sp = spikes!;
  for (let i = 0; i < m.spikeSample.length; i++) {
    sp.sampleNumbers.appendNumber(m.spikeSample[i]);
    sp.timestamps.appendNumber(m.spikeSample[i] / rate);
    sp.electrodes.appendNumber(m.spikeChannel[i]);
    sp.clusters.appendNumber(m.spikeUnit[i] < 0 ? 0 : Math.min(65535, m.spikeUnit[i] + 1));
  }
  if (m.spikeWaveforms.length) sp.waveforms.appendItems(m.spikeWaveforms);
  spikeCount += m.spikeSample.length;
  const t = ttl!;
  for (let i = 0; i < m.ttlSample.length; i++) {
    t.sampleNumbers.appendNumber(m.ttlSample[i]);
    t.timestamps.appendNumber(m.ttlSample[i] / rate);
    t.fullWords.appendNumber(m.ttlWord[i]);
    t.states.appendNumber(m.ttlState[i]);
  }
  ttlCount += m.ttlSample.length;
  for (const label of m.labels) recording!.addMessage(label.text, label.sampleIndex);
}

function flush(): void {
  const sync = open!.fsync;
  recording!.flush({ sync });
  const sp = spikes!;
  for (const w of [sp.sampleNumbers, sp.timestamps, sp.electrodes, sp.clusters, sp.waveforms]) w.flush({ sync });
  const t = ttl!;
  for (const w of [t.sampleNumbers, t.timestamps, t.fullWords, t.states]) w.flush({ sync });
  if (!t.registered && ttlCount > 0) {
    // Registered only once it holds an event: python-neo 0.11.1 fails on an empty TTL stream.
    t.registered = true;
    recording!.addOebinEntry('events', {
      folder_name: `${stream!.folderName}/TTL/`,
      channel_name: 'TTL',
      description: 'Light pulses: line n = stimulator output n − 1; +n at onset, −n at offset',
      identifier: 'optoloop.stimulus',
      sample_rate: open!.sampleRateHz,
      type: 'int16',
      source_processor: 'optoloop',
      stream_name: open!.streamName,
      initial_state: 0,
    });
  }
  post({ type: 'flushed', framesOnDisk: stream!.framesWritten, nextSampleIndex: -1, spikesOnDisk: spikeCount, ttlOnDisk: ttlCount });
}

function close(): void {
  if (spikes) for (const w of Object.values(spikes)) w.close();
  if (ttl) for (const w of [ttl.sampleNumbers, ttl.timestamps, ttl.fullWords, ttl.states]) w.close();
  recording?.close();
  post({ type: 'closed' });
}

port.on('message', (m: ToWorker) => {
  if (failed && m.type !== 'close' && m.type !== 'samples') return;
  try {
    switch (m.type) {
      case 'open':
        return onOpen(m);
      case 'samples':
        if (failed) {
          // Keep returning buffers so that the Recorder can count what it cannot write.
          post({ type: 'returned', chunkId: m.chunkId, samples: m.samples, segmentFirstSample: m.segmentFirstSample, segmentFrames: m.segmentFrames });
          return;
        }
        return onSamples(m);
      case 'events':
        return onEvents(m);
      case 'flush':
        return flush();
      case 'close':
        return close();
    }
  } catch (error) {
    failed = true;
    post({ type: 'error', code: isOptoloopError(error) ? error.code : 'E_FILE_WRITE', message: (error as Error).message });
  }
});
