// TCP acquisition drivers at Neuropixels scale (384 channels × 30 kHz), against their emulators over
// loopback, paced in real time:
//  - Intan RHX waveform parser alone: time to decode one 128-frame block (no socket);
//  - Intan RHX end to end, 1 block per write: latency from the moment a block's last frame was due
//    at the emulated controller to the block's delivery on blocks$ (host clock);
//  - SpikeGLX FETCH polling end to end: the same latency for each FETCH reply, and samples per reply.
// Prints p50 / p99 / p99.9 / max. TCP_BENCH_SECONDS (default 5) of stream each.
// The emulators run in the benchmark's own process and thread, so the end-to-end figures include
// the emulator's own work (generating and encoding 11.5 M samples/s) competing with the driver.
// Runs alone: node --import tsx test/bench/tcp-drivers.bench.ts
import { cpus } from 'node:os';
import { validate } from '../../src/config/schema.js';
import type { SampleBlock } from '../../src/core/sample-block.js';
import { intanRhxSourceSchema } from '../../drivers/intan-rhx/intan-rhx-config.js';
import { IntanRhxSource } from '../../drivers/intan-rhx/intan-rhx-source.js';
import { planRhxChannels } from '../../drivers/intan-rhx/rhx-channel-plan.js';
import { RhxWaveformParser } from '../../drivers/intan-rhx/rhx-waveform-parser.js';
import { spikeglxRemoteSourceSchema } from '../../drivers/spikeglx-remote/spikeglx-remote-config.js';
import { SpikeglxRemoteSource } from '../../drivers/spikeglx-remote/spikeglx-remote-source.js';
import { SeededFrameGenerator } from '../../sim/devices/common/seeded-frame-generator.js';
import { RhxBlockEncoder } from '../../sim/devices/intan-rhx/rhx-block-encoder.js';
import { RhxEmulator } from '../../sim/devices/intan-rhx/rhx-emulator.js';
import { SpikeglxEmulator } from '../../sim/devices/spikeglx/spikeglx-emulator.js';

const SECONDS = Number(process.env.TCP_BENCH_SECONDS ?? 5);
const CHANNELS = 384;
const RATE = 30000;
const cpu = cpus()[0]?.model ?? 'cpu';

function quantiles(name: string, unit: string, values: number[]): void {
  const v = Float64Array.from(values).sort();
  const q = (p: number) => v[Math.min(v.length - 1, Math.floor(p * v.length))].toFixed(1);
  console.log(`  ${name} (${unit}, n=${v.length}): p50 ${q(0.5)}  p99 ${q(0.99)}  p99.9 ${q(0.999)}  max ${v[v.length - 1].toFixed(1)}`);
}

function parserBench(): void {
  const channels = Array.from({ length: CHANNELS }, (_, i) => `${'ABCD'[i >> 7]}-${String(i & 127).padStart(3, '0')}`);
  const plan = planRhxChannels(channels, ['wide']);
  const encoder = new RhxBlockEncoder(new SeededFrameGenerator(CHANNELS, 1), CHANNELS);
  const words = plan.wireOrder.map((o) => ({ amplifier: channels.indexOf(o.channel), band: 'wide' as const, name: o.name }));
  const blockBytes = RhxBlockEncoder.blockBytes(CHANNELS);
  const blocks = 64;
  const bytes = new Uint8Array(blocks * blockBytes);
  for (let b = 0; b < blocks; b++) {
    encoder.fill();
    encoder.take(b * 128, words, bytes, b * blockBytes);
  }
  const parser = new RhxWaveformParser(plan.wordToOutput, CHANNELS);
  const times: number[] = [];
  const total = Math.round((SECONDS * RATE) / 128);
  for (let i = 0; i < 200; i++) {
    // Warm-up: let the JIT compile the decode loop before timing it.
    parser.feed(bytes, (i % blocks) * blockBytes, blockBytes);
    parser.next();
  }
  for (let i = 0; i < total; i++) {
    const at = (i % blocks) * blockBytes;
    const t0 = performance.now();
    parser.feed(bytes, at, blockBytes);
    if (!parser.next()) throw new Error('parser bench: no block');
    times.push((performance.now() - t0) * 1000);
  }
  console.log(`intan-rhx waveform parser: ${CHANNELS} ch, 128-frame blocks, ${cpu}`);
  quantiles('decode per block', 'µs', times);
}

async function intanBench(): Promise<void> {
  const emulator = new RhxEmulator({ amplifiersPerPort: { A: 128, B: 128, C: 128 }, sampleRateHz: RATE });
  await emulator.start();
  const channels = emulator.table.amplifierNames;
  const r = validate(intanRhxSourceSchema, { kind: 'intan-rhx', commandPort: emulator.commandPort, dataPort: emulator.waveformPort, channels, blocksPerWrite: 1 });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  const source = new IntanRhxSource(r.value);
  const latencies: number[] = [];
  const target = Math.round((SECONDS * RATE) / 128);
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  source.blocks$.subscribe((b: SampleBlock) => {
    const lastFrameDueNs = emulator.currentRunStartNs + (((b.deviceTimestamp as number) + b.frameCount) / RATE) * 1e9;
    latencies.push((b.hostReceiveTimeNs - lastFrameDueNs) / 1e3);
    if (latencies.length >= target) done();
  });
  await source.open();
  await source.start();
  await finished;
  await source.close();
  await emulator.stop();
  console.log(`intan-rhx end to end over loopback: ${CHANNELS} ch × ${RATE / 1000} kHz, 1 block (128 frames) per write, ${SECONDS} s, real time`);
  quantiles('last frame due → block delivered', 'µs', latencies);
}

async function spikeglxBench(): Promise<void> {
  const emulator = new SpikeglxEmulator({ probes: [{ apChannels: CHANNELS, lfChannels: 0 }] });
  await emulator.start();
  const r = validate(spikeglxRemoteSourceSchema, { kind: 'spikeglx-remote', port: emulator.port, channels: null });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  const source = new SpikeglxRemoteSource(r.value);
  const latencies: number[] = [];
  const sizes: number[] = [];
  let frames = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  const stream = emulator.streams[0];
  source.blocks$.subscribe((b: SampleBlock) => {
    const lastDueNs = stream.runStartNs + (((b.deviceTimestamp as number) + b.frameCount) / RATE) * 1e9;
    latencies.push((b.hostReceiveTimeNs - lastDueNs) / 1e3);
    sizes.push(b.frameCount);
    frames += b.frameCount;
    if (frames >= SECONDS * RATE) done();
  });
  await source.open();
  await source.start();
  await finished;
  await source.close();
  await emulator.stop();
  console.log(`spikeglx-remote end to end over loopback: ${CHANNELS} AP ch × ${RATE / 1000} kHz, adaptive FETCH polling (1 ms), ${SECONDS} s, real time`);
  quantiles('newest sample due → block delivered', 'µs', latencies);
  quantiles('samples per FETCH reply', 'frames', sizes);
}

parserBench();
await intanBench();
await spikeglxBench();
