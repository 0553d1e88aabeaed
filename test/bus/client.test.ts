import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BusClient } from '../../src/bus/client.js';
import type { BciOutput, BusStatus, ReceivedSpikeBatch, StimulusEvent, UnitUpdate } from '../../src/bus/messages.js';
import { allocateSpikeBatch } from '../../src/core/spikes.js';
import type { DaemonStatus } from '../../src/core/status.js';
import type { UnitSummary } from '../../src/core/units.js';
import { isOptoloopError } from '../../src/core/errors.js';
import { COMMAND_TOKEN, READ_TOKEN, STIM_TOKEN, eventually, startTestBus, type TestBus } from '../helpers/bus.js';

let bus: TestBus;
test.before.each(async () => {
  bus = await startTestBus({ spikeCapacity: 64 });
});
test.after.each(async () => {
  await bus.server.close();
});

function collect<T>(client: BusClient, event: 'spikes' | 'units' | 'stimulus' | 'bci' | 'status'): T[] {
  const out: T[] = [];
  client.on(event, ((value: T) => out.push(value)) as never);
  return out;
}

const unit = (unitId: number, overrides: Partial<UnitSummary> = {}): UnitSummary => ({
  unitId,
  streamId: 'probe0',
  peakChannel: 17 + unitId,
  spikeCount: 1200 + unitId,
  firingRateHz: 4.25,
  troughToPeakMs: 0.375,
  meanWaveformUv: [0, -12.5, -80.25, 30.5, 4],
  acg: [0, 0, 1, 4, 9],
  layer: 'L5',
  classification: {
    classNames: ['PV', 'SST', 'pyramidal'],
    probabilities: [0.75, 0.125, 0.125],
    confidenceRatio: 6,
    label: 'PV',
    spikeCount: 900,
    timeToLabelS: 42.5,
    modelName: 'c4-demo',
  },
  tag: {
    state: 'tagged',
    pulses: 120,
    saltP: 0.001,
    saltI: 0.5,
    latencyMs: 3.5,
    jitterMs: 0.75,
    reliability: 0.875,
    allenRatio: 5.5,
    waveformCorrelation: 0.96875,
    psth: { binMs: 0.5, startMs: -5, counts: [0, 1, 0, 30, 12] },
  },
  ...overrides,
});

const status: DaemonStatus = {
  rig: 'rig-a',
  uptimeS: 12.5,
  streamTimeS: 11.25,
  sourceBufferOccupancy: 0.125,
  blocksDropped: 2,
  blocksOverflowed: 1,
  recorderQueueOccupancy: 0.25,
  recorderFramesDropped: 3000,
  latency: [
    { name: 'software', bucketUpperUs: [100, 200, 400], counts: [5, 3, 1, 0], count: 9, p50Us: 150, p99Us: 390, p999Us: null, maxUs: 395 },
  ],
  devices: [{ name: 'led', kind: 'pulsepal', state: 'connected', bytes: 100, blocks: 0, resyncs: 0, drops: 0, lastError: null }],
  estopEngaged: true,
  earlyIds: { spikes: 1000, agreed: 900, missed: 70, differed: 2, extra: 8, neither: 20 },
};

test('units, status, stimulus and BCI round-trip to optoloop types, nulls included', async () => {
  const client = await BusClient.connect(bus.url, { token: READ_TOKEN });
  assert.equal(await client.subscribe(['units', 'status', 'stimulus', 'bci']), ['units', 'stimulus', 'bci', 'status']);
  const units = collect<UnitUpdate>(client, 'units');
  const statuses = collect<BusStatus>(client, 'status');
  const stimuli = collect<StimulusEvent>(client, 'stimulus');
  const bci = collect<BciOutput>(client, 'bci');
  const bare = unit(2, { troughToPeakMs: null, layer: null, classification: null, tag: null });
  bus.server.publishUnits([unit(1), bare], { removedUnitIds: [7], complete: false });
  bus.server.publishStatus(status);
  // Without early identification the field is absent on the wire and null here.
  bus.server.publishStatus({ ...status, earlyIds: undefined });
  const event: StimulusEvent = {
    requestId: 44,
    kind: 'trigger',
    outputMask: 0b101,
    ok: false,
    deviceTimeUs: null,
    hostWriteTimeNs: 123456789,
    hostAckTimeNs: 123999999,
    cause: { reason: 'optotag', streamId: 'probe0', sampleIndex: 9_007_199_254_740_000, sourceReceiveTimeNs: 120000000 },
    error: { code: 'E_STIM_ESTOP', message: 'emergency stop engaged' },
    sink: 'pulsepal',
  };
  bus.server.publishStimulus(event);
  bus.server.publishBci({ streamId: 'probe0', binEndSample: 30000, values: [0.5, -1.25], names: ['x', 'y'] });
  bus.server.publishBci({ streamId: 'probe0', binEndSample: 31500, values: [0.75, -1], names: ['x', 'y'] });
  await client.ping();
  assert.equal(units, [{ units: [unit(1), bare], removedUnitIds: [7], complete: false }]);
  assert.equal(statuses[0], { ...status, bus: { clients: 1, messagesDropped: 0, messagesSent: 1 } });
  assert.is(statuses[1].earlyIds, null);
  assert.equal(stimuli, [event]);
  assert.is(bci.length, 2);
  assert.equal(Array.from(bci[1].values), [0.75, -1]);
  assert.equal(bci[1].names, ['x', 'y'], 'names filled in when the server omits unchanged ones');
  assert.is(bci[1].binEndSample, 31500);
  await client.close();
});

test('spikes published per block arrive as one struct-of-arrays batch per flush; overflow is counted, never silent', async () => {
  const client = await BusClient.connect(bus.url, { token: READ_TOKEN });
  await client.subscribe(['spikes']);
  const received = collect<ReceivedSpikeBatch>(client, 'spikes');
  const batch = allocateSpikeBatch('probe0', 30000, 32);
  const expected: number[] = [];
  // 5 blocks × 20 spikes = 100 spikes into a 64-spike accumulator: 64 sent, 36 omitted.
  for (let block = 0; block < 5; block++) {
    batch.count = 20;
    for (let i = 0; i < 20; i++) {
      const index = block * 30 + i;
      batch.peakSampleIndex[i] = 1e12 + index;
      batch.peakChannel[i] = index % 384;
      batch.amplitudeUv[i] = -50 - i;
      batch.unitId[i] = i % 3 === 0 ? -1 : i;
      if (expected.length < 64) expected.push(1e12 + index);
    }
    bus.server.publishSpikes(batch);
    batch.peakSampleIndex.fill(0); // the batch is borrowed: the producer reuses it
  }
  assert.is(received.length, 0, 'nothing is sent before the flush');
  bus.timers.advanceMs(bus.config.spikeFlushMs);
  await client.ping();
  assert.is(received.length, 1);
  const got = received[0];
  assert.is(got.count, 64);
  assert.is(got.spikesOmitted, 36);
  assert.equal([...got.peakSampleIndex], expected);
  assert.is(got.peakChannel[21], 31);
  assert.is(got.amplitudeUv[1], -51);
  assert.is(got.unitId[3], -1);
  assert.is(got.streamId, 'probe0');
  assert.is(got.sampleRateHz, 30000);
  bus.timers.advanceMs(bus.config.spikeFlushMs);
  await client.ping();
  assert.is(received.length, 1, 'an empty interval publishes nothing');
  await client.close();
});

test('subscriptions filter topics per client, and unsubscribe stops delivery', async () => {
  const a = await BusClient.connect(bus.url, { token: READ_TOKEN });
  const b = await BusClient.connect(bus.url, { token: STIM_TOKEN });
  await a.subscribe(['units']);
  await b.subscribe(['status']);
  const aUnits = collect<UnitUpdate>(a, 'units');
  const aStatus = collect<BusStatus>(a, 'status');
  const bUnits = collect<UnitUpdate>(b, 'units');
  const bStatus = collect<BusStatus>(b, 'status');
  bus.server.publishUnits([unit(1)]);
  bus.server.publishStatus(status);
  await a.ping();
  await b.ping();
  assert.equal([aUnits.length, aStatus.length, bUnits.length, bStatus.length], [1, 0, 0, 1]);
  assert.equal(await a.unsubscribe(['units']), []);
  bus.server.publishUnits([unit(2)]);
  await a.ping();
  assert.is(aUnits.length, 1);
  await a.close();
  await b.close();
});

test('nothing is encoded for a topic nobody subscribes to', async () => {
  const a = await BusClient.connect(bus.url, { token: READ_TOKEN });
  await a.subscribe(['units']);
  bus.server.publishStatus(status);
  bus.server.publishBci({ streamId: 's', binEndSample: 1, values: [1], names: ['a'] });
  await a.ping();
  assert.is(bus.server.stats().messagesSent, 0);
  bus.server.publishUnits([unit(1)]);
  await a.ping();
  assert.is(bus.server.stats().messagesSent, 1);
  await a.close();
});

test('subscribing without the subscribe permission is refused', async () => {
  const c = await BusClient.connect(bus.url, { token: COMMAND_TOKEN });
  try {
    await c.subscribe(['units']);
    assert.unreachable('subscribed without permission');
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_BUS_PERMISSION'), String(error));
  }
  await c.close();
});

test('clients are counted and forgotten when they leave', async () => {
  const a = await BusClient.connect(bus.url, { token: READ_TOKEN, clientName: 'matlab' });
  await a.subscribe(['spikes', 'units']);
  const info = bus.server.clients();
  assert.is(info.length, 1);
  assert.is(info[0].clientName, 'matlab');
  assert.is(info[0].tokenName, 'reader');
  assert.equal(info[0].subscriptions, ['spikes', 'units']);
  await a.close();
  await eventually(() => bus.server.clients().length === 0, 'the server to see the close');
  const batch = allocateSpikeBatch('probe0', 30000, 4);
  batch.count = 4;
  bus.server.publishSpikes(batch);
  bus.timers.advanceMs(bus.config.spikeFlushMs);
  assert.is(bus.server.stats().messagesSent, 0, 'spikes are not even held once nobody subscribes');
});

test.run();
