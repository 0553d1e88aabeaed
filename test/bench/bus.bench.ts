/**
 * Bus benchmarks (run: node --import tsx test/bench/bus.bench.ts). Prints p50 / p99 / p99.9 / max:
 *  1. publishSpikes per 1 ms block of a 384-channel stream (the pipeline's cost),
 *  2. a spike flush (encode once + send) to 4 subscribers,
 *  3. framing: header + payload in one buffer (what the server does) vs two WebSocket frames of
 *     one fragmented message (no copy) vs Buffer.concat, for a small and a large message.
 */
import protobuf from 'protobufjs';
import WebSocket from 'ws';
import { BusClient } from '../../src/bus/client.js';
import { unitUpdateToMessage } from '../../src/bus/codec.js';
import { FrameEncoder } from '../../src/bus/frame-encoder.js';
import { busTypes } from '../../src/bus/schema.js';
import { HEADER_BYTES, Topic, writeHeader } from '../../src/bus/wire.js';
import { allocateSpikeBatch } from '../../src/core/spikes.js';
import { READ_TOKEN, startTestBus } from '../helpers/bus.js';
import { syntheticUnits } from '../helpers/fake-daemon.js';

function report(name: string, samplesUs: number[]): void {
  const s = samplesUs.slice().sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(2);
  console.log(`${name.padEnd(62)} n=${String(s.length).padStart(6)}  p50 ${q(0.5)} µs  p99 ${q(0.99)} µs  p99.9 ${q(0.999)} µs  max ${s[s.length - 1].toFixed(2)} µs`);
}

const bus = await startTestBus({ spikeCapacity: 65_536 });
const clients = await Promise.all([0, 1, 2, 3].map(() => BusClient.connect(bus.url, { token: READ_TOKEN })));
for (const c of clients) await c.subscribe(['spikes', 'units', 'status']);
let received = 0;
for (const c of clients) c.on('spikes', () => received++);

// 1 + 2: 384 channels, 30 kHz, 1 ms blocks, ~300 units at ~10 Hz → ~3 spikes per block; flush every 50 blocks.
const batch = allocateSpikeBatch('probe0', 30000, 64);
const publishUs: number[] = [];
const flushUs: number[] = [];
let sample = 0;
for (let block = 0; block < 50_000; block++) {
  batch.count = 3;
  for (let i = 0; i < 3; i++) {
    batch.peakSampleIndex[i] = sample + i * 7;
    batch.peakChannel[i] = (block * 13 + i) % 384;
    batch.amplitudeUv[i] = -80;
    batch.unitId[i] = (block + i) % 300;
  }
  sample += 30;
  const t0 = performance.now();
  bus.server.publishSpikes(batch);
  publishUs.push((performance.now() - t0) * 1000);
  if (block % 50 === 49) {
    const t1 = performance.now();
    bus.server.flushSpikes();
    flushUs.push((performance.now() - t1) * 1000);
    if (block % 5000 === 4999) await clients[0].ping();
  }
}
report('publishSpikes, 1 ms block of 384 ch (3 spikes), 4 subscribers', publishUs);
report('flushSpikes (150 spikes: encode once, send to 4)', flushUs);

// 3: framing strategies, each sending to one connected client.
const raw = new WebSocket(bus.url, { perMessageDeflate: false });
await new Promise((r) => raw.once('open', r));
// The server-side socket of `raw` (the newest connection): frames go to a client that does not decode them.
const connections = [...(bus.server as unknown as { connections: Set<{ socket: WebSocket }> }).connections];
const sink = connections[connections.length - 1].socket;
const types = busTypes();
const encoder = new FrameEncoder();
const small = { rig: 'r', uptimeS: 1, streamTimeS: 1, sourceBufferOccupancy: 0.1, latency: [], devices: [], estopEngaged: false };
const large = unitUpdateToMessage(syntheticUnits(300, 384), [], true);
const writer = protobuf.Writer.create();
for (const [label, type, message] of [
  ['status (small)', types.Status, small],
  ['300 units (large)', types.UnitUpdate, large],
] as const) {
  const size = encoder.encode(type, message, Topic.status, 1, 0).length;
  const one: number[] = [];
  const two: number[] = [];
  const concat: number[] = [];
  for (let i = 0; i < (size > 10_000 ? 300 : 5000); i++) {
    let t = performance.now();
    sink.send(encoder.encode(type, message, Topic.status, 1, i));
    one.push((performance.now() - t) * 1000);

    t = performance.now();
    writer.reset();
    type.encode(message, writer);
    const payload = writer.finish();
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    writeHeader(header, 0, Topic.status, 1, i, payload.length);
    sink.send(header, { fin: false, binary: true });
    sink.send(payload, { fin: true, binary: true });
    two.push((performance.now() - t) * 1000);

    t = performance.now();
    writer.reset();
    type.encode(message, writer);
    const p2 = writer.finish();
    const h2 = Buffer.allocUnsafe(HEADER_BYTES);
    writeHeader(h2, 0, Topic.status, 1, i, p2.length);
    sink.send(Buffer.concat([h2, p2]));
    concat.push((performance.now() - t) * 1000);
    if (i % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  report(`${label} ${size} B: one buffer (encode + finishInto)`, one);
  report(`${label} ${size} B: two ws frames, fragmented message`, two);
  report(`${label} ${size} B: Buffer.concat`, concat);
}
raw.close();
for (const c of clients) await c.close();
await bus.server.close();
console.log(`(spike batches received by the 4 clients: ${received})`);
