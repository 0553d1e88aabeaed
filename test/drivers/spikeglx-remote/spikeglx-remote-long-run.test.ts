import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validate } from '../../../src/config/schema.js';
import type { SampleBlock } from '../../../src/core/sample-block.js';
import { spikeglxRemoteSourceSchema } from '../../../drivers/spikeglx-remote/spikeglx-remote-config.js';
import { SpikeglxRemoteSource } from '../../../drivers/spikeglx-remote/spikeglx-remote-source.js';
import { seededSample } from '../../../sim/devices/common/seeded-frame-generator.js';
import { SpikeglxEmulator } from '../../../sim/devices/spikeglx/spikeglx-emulator.js';

const SEED = 99;
const CHANNELS = 32;
const RATE_HZ = 30000;
const STREAM_S = 60;

test(`${STREAM_S} s of stream at ${RATE_HZ / 1000} kHz × ${CHANNELS} AP channels (+ SY): every sample bit-exact, no gap`, async () => {
  // SpikeGLX paced 20× faster than real time. Its buffer holds the whole run, so that a CPU stall of
  // the test machine (two test files share two cores) cannot turn into "Too late": this test is
  // about bit-exact transport; Too-late recovery has its own test.
  const emulator = new SpikeglxEmulator({
    probes: [{ apChannels: CHANNELS, lfChannels: 0, bufferSamples: (STREAM_S + 5) * RATE_HZ }],
    seed: SEED,
    speed: 20,
  });
  await emulator.start();
  const r = validate(spikeglxRemoteSourceSchema, { kind: 'spikeglx-remote', port: emulator.port, channels: null, maxSamplesPerFetch: 3000 });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  const source = new SpikeglxRemoteSource(r.value);
  const target = STREAM_S * RATE_HZ;
  let nextIndex = 0;
  let frames = 0;
  let mismatches = 0;
  let firstMismatch = '';
  let startCount = -1;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  source.blocks$.subscribe((block: SampleBlock) => {
    const count = block.deviceTimestamp as number;
    if (startCount < 0) startCount = count;
    if (block.firstSampleIndex !== nextIndex || count !== startCount + nextIndex) {
      mismatches++;
      firstMismatch ||= `block at index ${block.firstSampleIndex} count ${count}, expected index ${nextIndex}`;
    }
    const s = block.samples as Int16Array;
    for (let f = 0; f < block.frameCount; f++) {
      for (let c = 0; c < CHANNELS; c++) {
        if (s[f * CHANNELS + c] !== seededSample(SEED, count + f, c)) {
          mismatches++;
          firstMismatch ||= `count ${count + f} channel ${c}`;
        }
      }
    }
    nextIndex = block.firstSampleIndex + block.frameCount;
    frames += block.frameCount;
    if (frames >= target) done();
  });
  const started = performance.now();
  await source.open();
  await source.start();
  await finished;
  const wallS = (performance.now() - started) / 1000;
  await source.close();
  await emulator.stop();
  console.log(
    `  spikeglx long run: ${frames} frames × ${CHANNELS} ch (${(frames / RATE_HZ).toFixed(1)} s of stream) in ${wallS.toFixed(2)} s wall, ` +
      `${source.fetchCount} FETCHes (${(frames / source.fetchCount).toFixed(0)} samples each on average), ${(source.link.bytes / 1e6).toFixed(1)} MB`,
  );
  assert.is(mismatches, 0, firstMismatch);
  assert.is(source.tooLateCount, 0);
  assert.is(source.counters.framesDropped, 0);
  assert.ok(frames >= target);
});

test.run();
