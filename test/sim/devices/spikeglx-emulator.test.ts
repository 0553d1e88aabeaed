import { connect, type Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../../../src/core/clock.js';
import { SpikeglxEmulator, formatG6 } from '../../../sim/devices/spikeglx/spikeglx-emulator.js';
import { seededSample } from '../../../sim/devices/common/seeded-frame-generator.js';
import { until } from '../../helpers/net.js';

/** A raw client: sends lines, collects every byte the server sends, notes when it closes. */
async function client(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const state = { data: Buffer.alloc(0), closed: false };
  socket.on('data', (d) => (state.data = Buffer.concat([state.data, d])));
  socket.on('close', () => (state.closed = true));
  socket.on('error', () => {});
  return { socket, state, send: (line: string) => socket.write(`${line}\n`), text: () => state.data.toString('latin1') };
}

test('queries answer their line then OK; unknown commands ERROR; five errors in a row close the connection', async () => {
  const emulator = new SpikeglxEmulator({ probes: [{ apChannels: 4, lfChannels: 2, apGain: [500, 250, 100, 50] }] });
  await emulator.start();
  const c = await client(emulator.port);
  c.send('getversion');
  c.send('GETSTREAMACQCHANS 2 0');
  c.send('GETSTREAMSAMPLERATE 2 0');
  c.send('GETSTREAMI16TOVOLTS 2 0 1');
  await until(() => c.text().split('OK\n').length > 4, 'four replies');
  assert.is(c.text(), '20250325\nOK\n4 2 1\nOK\n30000.000000\nOK\n4.6875e-06\nOK\n');
  for (let i = 0; i < 4; i++) c.send('NOPE');
  c.send('NOOP'); // a success resets the count
  for (let i = 0; i < 4; i++) c.send('NOPE');
  await until(() => c.text().split('ERROR').length > 8, 'eight errors');
  assert.not.ok(c.state.closed);
  c.send('GETSTREAMI16TOVOLTS 2 0 7');
  await until(() => c.state.closed, 'the close after the fifth error in a row');
  assert.match(c.text(), 'ERROR GETSTREAMI16TOVOLTS: Channel 7 out of range [0..6].\n');
  await emulator.stop();
});

test('FETCH: binary reply framed by header and OK, subset in ascending order, Too late once the data left the buffer, empty reply names every channel', async () => {
  const clock = new ManualClock();
  const emulator = new SpikeglxEmulator({ probes: [{ apChannels: 3, bufferSamples: 100 }], clock, seed: 5 });
  await emulator.start();
  clock.advanceMs(5); // 150 samples: 50…149 held
  const c = await client(emulator.port);
  c.send('FETCH 2 0 60 10 2#0');
  await until(() => c.text().endsWith('OK\n'), 'the FETCH reply');
  const header = 'BINARY_DATA 2 10 uint64(60)\n';
  assert.is(c.state.data.subarray(0, header.length).toString('latin1'), header);
  const payload = c.state.data.subarray(header.length, header.length + 40);
  for (let s = 0; s < 10; s++) {
    assert.is(payload.readInt16LE((s * 2 + 0) * 2), seededSample(5, 60 + s, 0));
    assert.is(payload.readInt16LE((s * 2 + 1) * 2), seededSample(5, 60 + s, 2));
  }
  assert.is(c.state.data.subarray(header.length + 40).toString('latin1'), 'OK\n');
  c.state.data = Buffer.alloc(0);
  c.send('FETCH 2 0 49 10');
  await until(() => c.text().length > 0 && c.text().endsWith('\n'), 'the Too late');
  assert.is(c.text(), 'ERROR FETCH: Too late.\n');
  c.state.data = Buffer.alloc(0);
  c.send('FETCH 2 0 150 10 0#1');
  await until(() => c.text().endsWith('OK\n'), 'the empty reply');
  assert.is(c.text(), 'BINARY_DATA 4 0 uint64(150)\nOK\n');
  c.socket.destroy();
  await emulator.stop();
});

test('volts per count are written like Qt writes a double: 6 significant digits', () => {
  assert.is(formatG6(0.6 / 512 / 500), '2.34375e-06');
  assert.is(formatG6(0.5 / 8192 / 80), '7.62939e-07');
  assert.is(formatG6(1), '1');
  assert.is(formatG6(0.000123456789), '0.000123457');
});

test.run();
