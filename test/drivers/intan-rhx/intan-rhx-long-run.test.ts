import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validate } from '../../../src/config/schema.js';
import type { SampleBlock } from '../../../src/core/sample-block.js';
import { intanRhxSourceSchema, type IntanRhxSourceConfig } from '../../../drivers/intan-rhx/intan-rhx-config.js';
import { IntanRhxSource } from '../../../drivers/intan-rhx/intan-rhx-source.js';
import { RhxEmulator } from '../../../sim/devices/intan-rhx/rhx-emulator.js';
import { seededSample } from '../../../sim/devices/common/seeded-frame-generator.js';

const SEED = 20250101;
const CHANNELS = 32;
const RATE_HZ = 30000;
const STREAM_S = 60;

test(`${STREAM_S} s of stream at ${RATE_HZ / 1000} kHz × ${CHANNELS} channels: every sample bit-exact, indices continuous, timestamps crossing the u32 wrap`, async () => {
  // The run starts 10 s before the u32 timestamp wraps, so the wrap falls in the middle of the stream.
  const runStartTimestamp = 2 ** 32 - 10 * RATE_HZ;
  const emulator = new RhxEmulator({ amplifiersPerPort: { A: 16, B: 16 }, sampleRateHz: RATE_HZ, seed: SEED, speed: 200, runStartTimestamp });
  await emulator.start();
  const channels = Array.from({ length: CHANNELS }, (_, i) => (i < 16 ? `A-${String(i).padStart(3, '0')}` : `B-${String(i - 16).padStart(3, '0')}`));
  const r = validate(intanRhxSourceSchema, { kind: 'intan-rhx', commandPort: emulator.commandPort, dataPort: emulator.waveformPort, channels, blocksPerWrite: 1 });
  assert.ok(r.ok);
  const source = new IntanRhxSource((r as { value: IntanRhxSourceConfig }).value);
  const targetFrames = STREAM_S * RATE_HZ;
  let nextIndex = 0;
  let frames = 0;
  let mismatches = 0;
  let firstMismatch = '';
  let wrapsSeen = 0;
  let lastTs = -1;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  source.blocks$.subscribe((block: SampleBlock) => {
    if (block.firstSampleIndex !== nextIndex) {
      mismatches++;
      firstMismatch ||= `block at ${block.firstSampleIndex}, expected ${nextIndex}`;
    }
    const ts = block.deviceTimestamp as number;
    if (lastTs >= 0 && ts < lastTs) wrapsSeen++;
    lastTs = ts;
    const s = block.samples as Int16Array;
    for (let f = 0; f < block.frameCount; f++) {
      const frame = block.firstSampleIndex + f; // one run from provider frame 0
      for (let c = 0; c < CHANNELS; c++) {
        if (s[f * CHANNELS + c] !== seededSample(SEED, frame, c)) {
          mismatches++;
          firstMismatch ||= `frame ${frame} channel ${c}: ${s[f * CHANNELS + c]} vs ${seededSample(SEED, frame, c)}`;
        }
      }
    }
    nextIndex = block.firstSampleIndex + block.frameCount;
    frames += block.frameCount;
    if (frames >= targetFrames) done();
  });
  const started = performance.now();
  await source.open();
  await source.start();
  await finished;
  const wallS = (performance.now() - started) / 1000;
  await source.close();
  await emulator.stop();
  console.log(
    `  intan-rhx long run: ${frames} frames × ${CHANNELS} ch (${(frames / RATE_HZ).toFixed(1)} s of stream) in ${wallS.toFixed(2)} s wall, ` +
      `${(source.link.bytes / 1e6).toFixed(1)} MB received`,
  );
  assert.is(mismatches, 0, firstMismatch);
  assert.ok(frames >= targetFrames);
  assert.is(wrapsSeen, 1);
  assert.is(source.counters.framesDropped, 0);
  assert.is(source.counters.blocksDelivered, frames / 128);
  assert.is(source.link.resyncs, 0);
});

test.run();
