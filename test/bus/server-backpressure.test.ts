/**
 * A client that stops reading must not slow the publisher or any other client: its own messages
 * are dropped (counted, and it is told), everyone else's arrive complete and in order.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BusClient } from '../../src/bus/client.js';
import type { ReceivedSpikeBatch } from '../../src/bus/messages.js';
import { Topic } from '../../src/bus/wire.js';
import { allocateSpikeBatch } from '../../src/core/spikes.js';
import { READ_TOKEN, RawClient, eventually, startTestBus } from '../helpers/bus.js';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

test('a stalled client loses only its own messages; the fast client gets every one in order; publishing never waits', async () => {
  const spikesPerBatch = 4096;
  const bus = await startTestBus({ maxBufferedBytes: 262_144, spikeCapacity: spikesPerBatch });
  const fast = await BusClient.connect(bus.url, { token: READ_TOKEN, clientName: 'fast' });
  await fast.subscribe(['spikes']);
  const slow = await RawClient.open(bus.url);
  await slow.hello(READ_TOKEN);
  slow.send({ subscribe: { topics: [Topic.spikes] } });
  await slow.until(() => slow.controls('subscribed').length === 1, 'slow subscribed');
  slow.socket.pause(); // stops reading: the kernel buffers fill, then the server's send buffer grows

  const received: ReceivedSpikeBatch[] = [];
  const receivedAtMs: number[] = [];
  let gaps = 0;
  fast.on('spikes', (b) => {
    received.push(b);
    receivedAtMs.push(performance.now());
  });
  fast.on('gap', () => gaps++);

  const batch = allocateSpikeBatch('probe0', 30000, spikesPerBatch);
  batch.count = spikesPerBatch;
  const publishMs: number[] = [];
  const deliveryMs: number[] = [];
  const slowInfo = () => bus.server.clients().find((c) => c.clientName === 'raw')!;
  let published = 0;
  let maxSlowBuffered = 0;
  const minDrops = 20;
  for (; published < 3000; published++) {
    for (let i = 0; i < spikesPerBatch; i++) {
      batch.peakSampleIndex[i] = published * spikesPerBatch + i;
      batch.peakChannel[i] = i % 384;
      batch.amplitudeUv[i] = -60;
      batch.unitId[i] = i % 300;
    }
    const t0 = performance.now();
    bus.server.publishSpikes(batch);
    bus.server.flushSpikes();
    const t1 = performance.now();
    publishMs.push(t1 - t0);
    const want = published + 1;
    await eventually(() => received.length >= want, `fast client batch ${want}`);
    deliveryMs.push(receivedAtMs[published] - t0);
    maxSlowBuffered = Math.max(maxSlowBuffered, slowInfo().bufferedBytes);
    if (slowInfo().dropped.spikes >= minDrops) {
      published++;
      break;
    }
  }
  const slowDropped = slowInfo().dropped.spikes;
  assert.ok(slowDropped >= minDrops, `the stalled client had ${slowDropped} drops after ${published} messages`);

  // The fast client: every message, in order, nothing dropped, no sequence gap.
  assert.is(received.length, published);
  assert.is(gaps, 0);
  for (let k = 0; k < published; k++) {
    assert.is(received[k].count, spikesPerBatch);
    assert.is(received[k].peakSampleIndex[0], k * spikesPerBatch);
  }
  const fastInfo = bus.server.clients().find((c) => c.clientName === 'fast')!;
  assert.is(fastInfo.dropped.spikes, 0);
  assert.is(fastInfo.sent, published + 2, 'published batches + welcome + subscribed');

  // The stalled client's backlog stayed bounded by the ceiling plus one message.
  const frameBytes = 16 + spikesPerBatch * 21;
  assert.ok(maxSlowBuffered <= bus.config.maxBufferedBytes + frameBytes * 1.2, `slow backlog ${maxSlowBuffered} bytes`);

  // Once it reads again it gets what was kept, sees the gaps, and is told how many were dropped.
  bus.timers.advanceMs(bus.config.droppedNoticeMs);
  slow.socket.resume();
  await slow.until(() => slow.controls('dropped').length === 1, 'dropped notice');
  const data = slow.frames.filter((f) => f.topic === Topic.spikes);
  assert.is(data.length + slowDropped, published, 'every message was either delivered or counted as dropped');
  let missing = 0;
  for (let k = 1; k < data.length; k++) {
    assert.ok(data[k].sequence > data[k - 1].sequence, 'in order');
    missing += data[k].sequence - data[k - 1].sequence - 1;
  }
  missing += published - 1 - data[data.length - 1].sequence;
  assert.is(missing, slowDropped, 'the sequence gaps account for the drops');
  const notice = slow.controls('dropped')[0].message.dropped;
  assert.equal(notice.total.map((t: { topic: number; count: number }) => [t.topic, t.count]), [[Topic.spikes, slowDropped]]);
  assert.equal(notice.sinceLastNotice.map((t: { topic: number; count: number }) => [t.topic, t.count]), [[Topic.spikes, slowDropped]]);

  const p = publishMs.slice().sort((a, b) => a - b);
  const d = deliveryMs.slice().sort((a, b) => a - b);
  console.log(
    `  backpressure: ${published} batches of ${spikesPerBatch} spikes (${(frameBytes / 1024).toFixed(0)} KiB), stalled client dropped ${slowDropped}; ` +
      `publish+flush p50 ${percentile(p, 0.5).toFixed(3)} ms p99 ${percentile(p, 0.99).toFixed(3)} ms max ${p[p.length - 1].toFixed(3)} ms; ` +
      `fast-client delivery p50 ${percentile(d, 0.5).toFixed(3)} ms p99 ${percentile(d, 0.99).toFixed(3)} ms (informational, not asserted)`,
  );
  await fast.close();
  slow.close();
  await bus.server.close();
});

test.run();
