// File I/O throughput at Neuropixels scale: 384 channels × 30 kHz, 30-frame (1 ms) blocks.
// Writes IO_BENCH_SECONDS (default 10) of data with the SpikeGLX and Open Ephys writers, then
// replays each file as fast as possible through FileReplaySource. Prints per-block time
// p50 / p99 / p99.9 / max (µs) and the real-time factor. Files go to test-artifacts/ and are
// removed afterwards. Runs alone: node --import tsx test/bench/io.bench.ts
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { ManualClock } from '../../src/core/clock.js';
import type { Int16SampleBlock, MutableInt16Block } from '../../src/core/sample-block.js';
import { FileReplaySource } from '../../src/io/file-replay-source.js';
import { openRecording } from '../../src/io/open-recording.js';
import { OpenEphysRecordingWriter } from '../../src/io/openephys/writer.js';
import { SpikeGlxWriter, spikeGlxBinName } from '../../src/io/spikeglx/writer.js';
import { artifactDir } from '../helpers/paths.js';
import { randomInt16 } from '../helpers/seeded.js';

const SECONDS = Number(process.env.IO_BENCH_SECONDS ?? 10);
const CHANNELS = 384;
const RATE = 30000;
const BLOCK = 30;
const BLOCKS = Math.round((SECONDS * RATE) / BLOCK);

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function report(name: string, times: Float64Array, wallS: number): void {
  times.sort();
  console.log(
    `${name}: ${CHANNELS} ch × ${RATE / 1000} kHz, ${BLOCK}-frame blocks, ${SECONDS} s, ${cpus()[0]?.model ?? 'cpu'}\n` +
      `  per block µs: p50 ${quantile(times, 0.5).toFixed(1)}  p99 ${quantile(times, 0.99).toFixed(1)}  p99.9 ${quantile(times, 0.999).toFixed(1)}  max ${times[times.length - 1].toFixed(1)}\n` +
      `  real-time factor ${(SECONDS / wallS).toFixed(1)}× (${((SECONDS * RATE * CHANNELS) / wallS / 1e6).toFixed(0)} M samples/s)`,
  );
}

const dir = artifactDir('io-bench');
const data = randomInt16(RATE * CHANNELS, 1); // one second, repeated
const uv = new Float32Array(CHANNELS).fill(2.34375);
const block: MutableInt16Block = {
  format: 'int16', streamId: 'bench', sampleRateHz: RATE, channelCount: CHANNELS, frameCount: BLOCK,
  firstSampleIndex: 0, deviceTimestamp: null, hostReceiveTimeNs: 0, samples: new Int16Array(BLOCK * CHANNELS), uvPerCount: uv,
};

function writeBench(name: string, write: (b: Int16SampleBlock) => void, close: () => void): void {
  const times = new Float64Array(BLOCKS);
  const started = performance.now();
  for (let b = 0; b < BLOCKS; b++) {
    const from = ((b * BLOCK) % RATE) * CHANNELS;
    block.samples.set(data.subarray(from, from + BLOCK * CHANNELS));
    block.firstSampleIndex = b * BLOCK;
    const t0 = performance.now();
    write(block);
    times[b] = (performance.now() - t0) * 1000;
  }
  close();
  report(name, times, (performance.now() - started) / 1000);
}

async function replayBench(name: string, path: string): Promise<void> {
  const source = new FileReplaySource(openRecording(path), { blockFrames: BLOCK, realTime: false, clock: new ManualClock() });
  await source.open();
  const times = new Float64Array(BLOCKS);
  let n = 0;
  let last = 0;
  const started = performance.now();
  last = started;
  const done = new Promise<void>((resolve) =>
    source.blocks$.subscribe({
      next: () => {
        const now = performance.now();
        if (n < BLOCKS) times[n++] = (now - last) * 1000;
        last = now;
      },
      complete: resolve,
    }),
  );
  await source.start();
  await done;
  const wallS = (performance.now() - started) / 1000;
  await source.close();
  report(`${name} (time between blocks, read + copy out of the read-ahead buffer)`, times.subarray(0, n), wallS);
}

const sglx = new SpikeGlxWriter({ binPath: join(dir, spikeGlxBinName('bench')), sampleRateHz: RATE, channelCount: CHANNELS, uvPerCount: uv });
writeBench('SpikeGLX write', (b) => sglx.write(b), () => sglx.close());
await replayBench('SpikeGLX replay (385 words per frame, SY skipped)', sglx.binPath);

/** Real-time pacing with the system clock and the default scheduler (a PreciseScheduler per run): lateness of each block behind its due time. */
async function pacingBench(path: string, seconds: number): Promise<void> {
  const source = new FileReplaySource(openRecording(path), { blockFrames: BLOCK });
  const info = await source.open();
  const lateness: number[] = [];
  let startNs = 0;
  let frames = 0;
  const done = new Promise<void>((resolve) => {
    const sub = source.blocks$.subscribe((b) => {
      frames += b.frameCount;
      lateness.push((b.hostReceiveTimeNs - startNs - (frames / info.sampleRateHz) * 1e9) / 1000);
      if (frames >= seconds * info.sampleRateHz) {
        sub.unsubscribe();
        resolve();
      }
    });
  });
  startNs = performance.now() * 1e6;
  await source.start();
  await done;
  const wallS = (performance.now() * 1e6 - startNs) / 1e9;
  await source.close();
  const sorted = Float64Array.from(lateness).sort();
  console.log(
    `real-time replay pacing (speed 1, system clock, PreciseScheduler), ${seconds} s of ${CHANNELS} ch in ${BLOCK}-frame blocks\n` +
      `  lateness behind due time µs: p50 ${quantile(sorted, 0.5).toFixed(0)}  p99 ${quantile(sorted, 0.99).toFixed(0)}  p99.9 ${quantile(sorted, 0.999).toFixed(0)}  max ${sorted[sorted.length - 1].toFixed(0)}\n` +
      `  wall time ${wallS.toFixed(3)} s for ${seconds} s of stream (drift ${((wallS - seconds) * 1000).toFixed(1)} ms)`,
  );
}
await pacingBench(sglx.binPath, Math.min(3, SECONDS));

const oe = new OpenEphysRecordingWriter({ directory: join(dir, 'oe') });
const stream = oe.addContinuousStream({ streamName: 'bench', sampleRateHz: RATE, channelCount: CHANNELS, uvPerCount: uv });
writeBench('Open Ephys write (dat + sample_numbers + timestamps)', (b) => stream.write(b), () => oe.close());
await replayBench('Open Ephys replay (sample numbers checked per frame)', join(dir, 'oe'));

rmSync(dir, { recursive: true, force: true });
