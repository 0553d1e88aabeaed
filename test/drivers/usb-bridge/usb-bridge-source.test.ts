// The USB bulk source against a FAKE of node-usb at the transfer boundary (no USB device exists in
// CI), and against stream packets written by the firmware core itself (the emulator).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isOptoloopError } from '../../../src/core/errors.js';
import type { SampleBlock } from '../../../src/core/sample-block.js';
import { FakeUsbBackend, type FakeBulkInEndpoint, type FakeTransferStep } from '../../../drivers/usb-bridge/fake-usb-backend.js';
import { UsbBinding, type UsbBulkInPort } from '../../../drivers/usb-bridge/usb-binding.js';
import { UsbBridgeSource, type StreamControl } from '../../../drivers/usb-bridge/usb-bridge-source.js';
import type { StreamStartReply } from '../../../drivers/firmware-bridge/codec.js';
import { artifactDir } from '../../helpers/paths.js';
import { startRig } from '../firmware-bridge/harness.js';
import { concat, lcg, packet, patternSample } from './packets.js';

const VID = 0x16c0;
const PID = 0x048b;
const CHANNELS = 8;
const FRAMES = 30;

function rig(transfersInFlight = 4): { backend: FakeUsbBackend; endpoint: FakeBulkInEndpoint; source: UsbBridgeSource; binding: UsbBinding } {
  const backend = new FakeUsbBackend();
  const device = backend.addDevice(VID, PID, 2, 9);
  const endpoint = device.addBulkIn(3, 0x84);
  const binding = new UsbBinding(backend);
  const source = new UsbBridgeSource(
    { vendorId: VID, productId: PID, channelCount: CHANNELS, sampleRateHz: 30_000, framesPerPacket: FRAMES, transfersInFlight, uvPerCount: 0.195 },
    { binding },
  );
  return { backend, endpoint, source, binding };
}

/** Cuts a byte stream into transfers of random sizes up to 16 KiB (most of them short). */
function transfers(data: Uint8Array, seed: number, extras: (i: number) => FakeTransferStep[] = () => []): FakeTransferStep[] {
  const r = lcg(seed);
  const steps: FakeTransferStep[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = Math.min(data.length - at, 1 + Math.floor(r() * 16_384));
    steps.push({ data: data.slice(at, at + n) }, ...extras(i));
    at += n;
  }
  return steps;
}

interface Tally {
  blocks: number;
  frames: number;
  mismatches: number;
  firstIndices: number[];
  deviceTimes: number[];
}

/** Checks every sample of every block against the pattern as blocks arrive (blocks are borrowed). */
function check(source: UsbBridgeSource, untilFrames: number): { tally: Tally; done: Promise<void> } {
  const tally: Tally = { blocks: 0, frames: 0, mismatches: 0, firstIndices: [], deviceTimes: [] };
  const done = new Promise<void>((resolve, reject) => {
    source.blocks$.subscribe({
      next: (block: SampleBlock) => {
        tally.blocks++;
        tally.firstIndices.push(block.firstSampleIndex);
        tally.deviceTimes.push(block.deviceTimestamp ?? -1);
        for (let f = 0; f < block.frameCount; f++)
          for (let c = 0; c < block.channelCount; c++)
            if (block.samples[f * block.channelCount + c] !== patternSample(block.firstSampleIndex + f, c)) tally.mismatches++;
        tally.frames += block.frameCount;
        if (tally.frames >= untilFrames) resolve();
      },
      error: reject,
    });
  });
  return { tally, done };
}

test('a long run over short transfers, zero-length packets and a stall: every sample bit-exact, nothing dropped', async () => {
  const { endpoint, source, backend } = rig();
  const packets = 3000;
  const stream = concat(Array.from({ length: packets }, (_, i) => packet(i, i * FRAMES, FRAMES, CHANNELS, 5_000 + Math.floor((i * FRAMES * 1e6) / 30_000))));
  await source.open();
  const { tally, done } = check(source, packets * FRAMES);
  await source.start();
  endpoint.push(...transfers(stream, 11, (i) => (i === 20 ? [{ stall: true }] : i % 9 === 4 ? [{ zeroLength: true }] : [])));
  await done;
  assert.is(tally.frames, packets * FRAMES);
  assert.is(tally.mismatches, 0, 'every sample equals what the device sent');
  assert.equal(tally.firstIndices.slice(0, 3), [0, 30, 60]);
  assert.ok(tally.firstIndices.every((v, i) => v === i * FRAMES), 'first sample indices follow each other');
  assert.is(tally.deviceTimes[100], 5_000 + 100_000);
  assert.is(source.counters.blocksDropped, 0);
  assert.is(source.counters.framesDropped, 0);
  assert.is(source.parser.counters.resyncs, 0);
  const port = (source as unknown as { port: UsbBulkInPort }).port;
  assert.is(port.counters.stalls, 1);
  assert.ok(port.counters.zeroLengthTransfers > 0);
  assert.ok(port.counters.shortTransfers > 100);
  assert.is(endpoint.maxSubmitted, 4, 'four transfers kept in flight');
  assert.equal(backend.devices[0].calls.slice(0, 3), ['open', 'detach 3', 'claim 3']);
  assert.ok(backend.devices[0].calls.includes('clearHalt'));
  await source.close();
  assert.ok(backend.devices[0].calls.includes('release 3'));
  assert.is(backend.devices[0].calls.at(-1), 'close');
});

test('sequence gaps are counted as drops and the sample index jumps; a damaged packet costs a resync and a drop', async () => {
  const { endpoint, source } = rig();
  const all = Array.from({ length: 40 }, (_, i) => packet(i, i * FRAMES, FRAMES, CHANNELS, i));
  const damaged = all[25].slice();
  damaged[60] ^= 0x01;
  const sent = [...all.slice(0, 10), ...all.slice(13, 25), damaged, ...all.slice(26)];
  await source.open();
  const { tally, done } = check(source, (40 - 4) * FRAMES);
  await source.start();
  endpoint.push(...transfers(concat(sent), 5));
  await done;
  assert.is(tally.mismatches, 0);
  assert.is(source.counters.blocksDropped, 4);
  assert.is(source.counters.framesDropped, 4 * FRAMES);
  assert.is(source.parser.counters.resyncs, 1);
  assert.is(source.parser.counters.crcErrors, 1);
  assert.is(tally.firstIndices[10], 13 * FRAMES, 'the block after the gap starts where the device said');
  assert.is(source.status().drops, 4);
  await source.close();
});

test('the device unplugged mid-stream: blocks$ errors with E_DEVICE_DISCONNECTED after delivering what arrived', async () => {
  const { endpoint, source, backend } = rig();
  await source.open();
  const blocks: number[] = [];
  const failed = new Promise<unknown>((resolve) => source.blocks$.subscribe({ next: (b) => blocks.push(b.firstSampleIndex), error: resolve }));
  await source.start();
  endpoint.push(...transfers(concat(Array.from({ length: 20 }, (_, i) => packet(i, i * FRAMES, FRAMES, CHANNELS, i))), 9), { gone: true });
  const error = await failed;
  assert.ok(isOptoloopError(error, 'E_DEVICE_DISCONNECTED'), String(error));
  assert.is(blocks.length, 20, 'everything received before the loss was delivered');
  assert.is(source.state, 'failed');
  assert.is(backend.getDeviceList().length, 0);
});

test('binding errors name what is missing: no such device, no such endpoint; a wrong channel count is a block mismatch', async () => {
  const backend = new FakeUsbBackend();
  const binding = new UsbBinding(backend);
  const open = (endpointAddress: number) => binding.open({ path: '', vendorId: VID, productId: PID, interfaceNumber: 3, endpointAddress });
  let error: unknown = await open(0x84).catch((e: unknown) => e);
  assert.ok(isOptoloopError(error, 'E_DEVICE_NOT_FOUND'));
  assert.match(String(error), /no device 16c0:048b/);
  backend.addDevice(VID, PID).addBulkIn(3, 0x84);
  error = await open(0x85).catch((e: unknown) => e);
  assert.ok(isOptoloopError(error, 'E_DEVICE_PROTOCOL'));
  assert.match(String(error), /no bulk IN endpoint 0x85; it has 0x84 \(in\)/);
  assert.equal(await binding.list(), [{ kind: 'usb', path: 'usb:1-7', vendorId: '16c0', productId: '048b' }]);

  const { endpoint, source } = rig();
  await source.open();
  const failed = new Promise<unknown>((resolve) => source.blocks$.subscribe({ error: resolve }));
  await source.start();
  endpoint.push({ data: packet(0, 0, 10, 4, 0) });
  assert.ok(isOptoloopError(await failed, 'E_BLOCK_MISMATCH'));
});

test('the firmware core’s own stream packets (emulator, with dropped packets) parse bit-exact, drops counted as the device counted them', async () => {
  const streamFile = join(artifactDir(`usb-bridge-stream-${process.pid}`), 'stream.bin');
  const emu = await startRig('stream2', { streamOutPath: streamFile, streamDropEvery: 7 });
  try {
    await emu.sink.open();
    let started: StreamStartReply | null = null;
    const control: StreamControl = {
      startStreaming: async (rate, fpp, channels) => (started = await emu.sink.startStreaming(rate, fpp, channels)),
      stopStreaming: async () => emu.sink.stopStreaming(),
    };
    const backend = new FakeUsbBackend();
    const endpoint = backend.addDevice(VID, PID).addBulkIn(3, 0x84);
    const source = new UsbBridgeSource({ vendorId: VID, productId: PID, channelCount: 6, sampleRateHz: 20_000, framesPerPacket: 40 }, { binding: new UsbBinding(backend), control });
    await source.open();
    await source.start();
    let status = await emu.sink.getStatus();
    while (status.streamPacketsSent + status.streamPacketsDropped < 50) status = await emu.sink.getStatus();
    const stopped = await emu.sink.stopStreaming();
    const bytes = new Uint8Array(readFileSync(streamFile));
    const { tally, done } = check(source, stopped.framesSent);
    endpoint.push(...transfers(bytes, 21));
    await done;
    assert.is(tally.mismatches, 0, 'C packetizer and TypeScript parser agree on every sample');
    assert.is(source.counters.blocksDelivered, stopped.packetsSent);
    // The device drops every 7th packet (endpoint full); a drop at the very end leaves no gap to see.
    const trailing = (stopped.packetsSent + stopped.packetsDropped) % 7 === 0 ? 1 : 0;
    assert.is(source.counters.blocksDropped, stopped.packetsDropped - trailing);
    assert.ok(stopped.packetsDropped >= 7);
    assert.is(source.counters.framesDropped, (stopped.packetsDropped - trailing) * 40);
    const t0 = (started as StreamStartReply | null)!.deviceTimeUs;
    tally.firstIndices.forEach((index, i) => assert.is(tally.deviceTimes[i], t0 + Math.floor((index * 1e6) / 20_000)));
    await source.close();
  } finally {
    await emu.dispose();
  }
});

test.run();
