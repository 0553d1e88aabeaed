// Benchmarks of the firmware bridge path (run alone: node --import tsx test/bench/firmware-bridge.bench.ts):
//   1. trigger() → device-timestamped ack, round trip over a pty to the firmware emulator;
//   2. stream packet parsing + block assembly, per 16 KiB USB transfer, 8 channels.
// Prints p50 / p99 / p99.9 / max. The pty round trip measures the host stack (Node, the serial
// binding, the kernel pty, the emulator process), not USB.
import { performance } from 'node:perf_hooks';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { EmulatorProcess, buildEmulator } from '../../drivers/firmware-bridge/emulator.js';
import { FirmwareBridgeSink } from '../../drivers/firmware-bridge/sink.js';
import { StreamPacketParser } from '../../drivers/usb-bridge/stream-parser.js';
import { artifactDir } from '../helpers/paths.js';
import { concat, packet } from '../drivers/usb-bridge/packets.js';

function report(name: string, samples: number[], unit: string): void {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number): string => s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(1);
  console.log(`${name}: n=${s.length} p50=${q(0.5)} p99=${q(0.99)} p99.9=${q(0.999)} max=${s[s.length - 1].toFixed(1)} ${unit}`);
}

async function triggerRoundTrip(iterations: number): Promise<void> {
  buildEmulator();
  const dir = artifactDir(`bench-firmware-bridge-${process.pid}`);
  const link = join(dir, 'tty');
  rmSync(link, { force: true });
  const emulator = await EmulatorProcess.start({ linkPath: link });
  const sink = new FirmwareBridgeSink({ path: link });
  await sink.open();
  await sink.setLimits('all', { maxWidthUs: 1000, dutyWindowUs: 1_000_000, maxDutyPpm: 1_000_000, rateWindowUs: 1_000_000, maxPulsesPerWindow: 1023 });
  for (let c = 0; c < 4; c++) await sink.program(c, { pulseWidthMs: 0.01, pulseIntervalMs: 1, pulseCount: 1, delayMs: 0, level: 1 });
  const roundTripUs: number[] = [];
  /** trigger() called → its frame handed to the OS (the ack's hostWriteTimeNs): the software part. */
  const writeUs: number[] = [];
  let refused = 0;
  for (let i = 0; i < iterations; i++) {
    const output = i % 4;
    const done = new Promise<void>((resolve) => {
      const sub = sink.trainDone$.subscribe((e) => {
        if (e.channel === output) {
          sub.unsubscribe();
          resolve();
        }
      });
    });
    const ack = new Promise<{ ok: boolean; t: number; writeNs: number }>((resolve) => {
      const sub = sink.acks$.subscribe((a) => {
        sub.unsubscribe();
        resolve({ ok: a.ok, t: performance.now(), writeNs: a.hostWriteTimeNs });
      });
    });
    const t0 = performance.now();
    sink.trigger(1 << output, { reason: 'bench', streamId: null, sampleIndex: null, sourceReceiveTimeNs: null });
    const result = await ack;
    roundTripUs.push((result.t - t0) * 1000);
    writeUs.push((result.writeNs / 1e6 - t0) * 1000);
    if (result.ok) await done;
    else refused++;
  }
  report('trigger → ack over pty (4 outputs)', roundTripUs, 'µs');
  report('trigger → frame written (hostWriteTimeNs)', writeUs, 'µs');
  if (refused) console.log(`  (${refused} triggers refused by the firmware's rate limit)`);
  await sink.close();
  await emulator.stop();
}

function parseThroughput(): void {
  const channels = 8;
  const frames = 30;
  const packets = 20_000;
  const stream = concat(Array.from({ length: packets }, (_, i) => packet(i, i * frames, frames, channels, i)));
  const parser = new StreamPacketParser();
  const block = new Int16Array(frames * channels);
  const perTransferUs: number[] = [];
  let delivered = 0;
  for (let at = 0; at < stream.length; at += 16_384) {
    const end = Math.min(stream.length, at + 16_384);
    const t0 = performance.now();
    let p = at;
    const take = (): void => {
      const b = parser.buffer;
      let o = parser.samplesOffset;
      for (let i = 0; i < parser.frameCount * parser.channelCount; i++, o += 2) block[i] = ((b[o] | (b[o + 1] << 8)) << 16) >> 16;
      delivered++;
    };
    while (p < end) {
      p = parser.feed(stream, p, end);
      if (parser.ready) take();
    }
    for (;;) {
      parser.feed(stream, end, end);
      if (!parser.ready) break;
      take();
    }
    perTransferUs.push((performance.now() - t0) * 1000);
  }
  report(`stream parse, ${channels} channels, ${frames} frames/packet, per 16 KiB transfer (${delivered} packets)`, perTransferUs, 'µs');
}

parseThroughput(); // warm-up: the first pass measures the JIT
parseThroughput();
await triggerRoundTrip(Number(process.env.BENCH_ITERATIONS ?? 2000));
