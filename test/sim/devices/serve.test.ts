/**
 * Served emulated devices with the real drivers, in real time (no injected clock): what a desk
 * setup or `optoloop sim --serve` gets.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openBciSourceSchema } from '../../../drivers/openbci/config.js';
import { CytonSource } from '../../../drivers/openbci/cyton-source.js';
import { pulsePalSinkSchema } from '../../../drivers/pulsepal/config.js';
import { PulsePalSink } from '../../../drivers/pulsepal/pulsepal-sink.js';
import { thorlabsSinkSchema } from '../../../drivers/thorlabs/config.js';
import { ThorlabsSink } from '../../../drivers/thorlabs/thorlabs-sink.js';
import { validate, type Schema } from '../../../src/config/schema.js';
import { FramesCytonSignal } from '../../../sim/devices/openbci/signal.js';
import { serveEmulatedDevice } from '../../../sim/devices/serve.js';
import { waitFor } from '../../helpers/async.js';

function config<T>(schema: Schema<T>, value: unknown): T {
  const r = validate(schema, value);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

const quiet = { warn: () => {} };

test('a served Cyton plays a supplied signal; the source delivers it in µV within half a count', async () => {
  // A ramp on channel 1 and a constant on channel 2, 1000 frames, looped.
  const frames = new Float32Array(1000 * 2);
  for (let f = 0; f < 1000; f++) {
    frames[2 * f] = (f - 500) * 0.5;
    frames[2 * f + 1] = -123.25;
  }
  const served = await serveEmulatedDevice('openbci', { signal: new FramesCytonSignal(frames, 2) });
  const source = new CytonSource({ config: config(openBciSourceSchema, { kind: 'openbci', port: served.hostPath }), log: quiet });
  try {
    await source.open();
    const got = new Map<number, [number, number, number]>();
    source.blocks$.subscribe((b) => {
      for (let f = 0; f < b.frameCount; f++) got.set(b.firstSampleIndex + f, [b.samples[f * 8], b.samples[f * 8 + 1], b.samples[f * 8 + 2]]);
    });
    await source.start();
    await waitFor(source.blocks$, () => got.size >= 50, '50 frames in real time');
    const halfCount = (4.5 / 24 / (2 ** 23 - 1)) * 1e6 / 2 + 1e-4;
    for (const [index, [ch1, ch2, ch3]] of got) {
      assert.ok(Math.abs(ch1 - (index - 500) * 0.5) <= halfCount, `frame ${index} channel 1: ${ch1}`);
      assert.ok(Math.abs(ch2 + 123.25) <= halfCount, `frame ${index} channel 2: ${ch2}`);
      assert.is(ch3, 0);
    }
  } finally {
    await source.close();
    await served.close();
  }
});

test('a served Pulse Pal and Thorlabs answer their drivers; unplug and replug are seen as such', async () => {
  const pp = await serveEmulatedDevice('pulsepal');
  const sink = new PulsePalSink({
    name: 'pp',
    config: config(pulsePalSinkSchema, { kind: 'pulsepal', port: pp.hostPath, reconnect: { initialDelayMs: 20, maxDelayMs: 200 } }),
    log: quiet,
  });
  try {
    assert.is((await sink.open()).firmwareVersion, '21');
    const reconnecting = waitFor(sink.events$, (e) => e.type === 'state' && e.state === 'reconnecting', 'reconnecting');
    await pp.unplug();
    await reconnecting;
    const connected = waitFor(sink.events$, (e) => e.type === 'state' && e.state === 'connected', 'reconnected');
    await pp.replug();
    await connected;
  } finally {
    await sink.close();
    await pp.close();
  }
  const th = await serveEmulatedDevice('thorlabs');
  const leds = new ThorlabsSink({ name: 'leds', config: config(thorlabsSinkSchema, { kind: 'thorlabs', port: th.hostPath }), log: quiet });
  try {
    assert.match((await leds.open()).description, 'DC4104');
  } finally {
    await leds.close();
    await th.close();
  }
});

test.run();
