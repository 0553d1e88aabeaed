import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validate } from '../../../src/config/schema.js';
import type { SampleBlock } from '../../../src/core/sample-block.js';
import { spikeglxRemoteSourceSchema } from '../../../drivers/spikeglx-remote/spikeglx-remote-config.js';
import { SpikeglxRemoteSource } from '../../../drivers/spikeglx-remote/spikeglx-remote-source.js';
import { SpikeglxEmulator } from '../../../sim/devices/spikeglx/spikeglx-emulator.js';
import { SeededStreamCheck, streamUntil } from '../../helpers/seeded-stream.js';

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
  const check = new SeededStreamCheck(SEED, CHANNELS, target);
  let startCount = -1;
  source.blocks$.subscribe((block: SampleBlock) => {
    const count = block.deviceTimestamp as number;
    if (startCount < 0) startCount = count;
    if (block.firstSampleIndex !== check.nextIndex || count !== startCount + check.nextIndex) {
      check.mismatch(`block at index ${block.firstSampleIndex} count ${count}, expected index ${check.nextIndex}`);
    }
    check.samples(block, count);
  });
  const wallS = await streamUntil(source, check.finished);
  await emulator.stop();
  const { frames, mismatches, firstMismatch } = check;
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
