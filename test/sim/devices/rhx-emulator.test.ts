import { connect, type Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RhxEmulator } from '../../../sim/devices/intan-rhx/rhx-emulator.js';
import { until } from '../../helpers/net.js';

async function raw(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  const state = { text: '', bytes: 0, closed: false, connected: false };
  socket.on('connect', () => (state.connected = true));
  socket.on('data', (d) => {
    state.text += d.toString('latin1');
    state.bytes += d.length;
  });
  socket.on('close', () => (state.closed = true));
  socket.on('error', () => {});
  await until(() => state.connected || state.closed, 'connect');
  return { socket, state };
}

test('replies like RHX: unterminated Return: for gets, nothing for good sets, error texts otherwise', async () => {
  const emulator = new RhxEmulator({ amplifiersPerPort: { A: 4 } });
  await emulator.start();
  const c = await raw(emulator.commandPort);
  c.socket.write('get SampleRateHertz;set A-001.TCPDataOutputEnabled true;get a-001.tcpdataoutputenabled;set A-009.TCPDataOutputEnabled true;');
  c.socket.write('set TCPNumberDataBlocksPerWrite 101;frobnicate;get RunMode;');
  await until(() => c.state.text.endsWith('Return: RunMode Stop'), 'the replies');
  // RHX numbers commands within what one read held, which TCP may have coalesced: the number varies.
  assert.match(
    c.state.text,
    /^Return: SampleRateHertz 30000Return: a-001\.tcpdataoutputenabled TrueUnrecognized parameterInvalid value for TCPNumberDataBlocksPerWrite command\. Acceptable: integers 1-100Error - Command \d: Unrecognized command frobnicateReturn: RunMode Stop$/,
  );
  c.state.text = '';
  c.socket.write('set RunMode Run;set RunMode Run;set TCPNumberDataBlocksPerWrite 2;get RunMode;');
  await until(() => c.state.text.endsWith('Return: RunMode Run'), 'the replies while running');
  assert.is(c.state.text, 'Board must be stopped in order to start running' + 'TCPNumberDataBlocksPerWrite cannot be set while the board is running' + 'Return: RunMode Run');
  c.socket.destroy();
  await emulator.stop();
});

test('the waveform server opens on ConnectTCPWaveformDataOutput and takes a single client', async () => {
  const emulator = new RhxEmulator({ amplifiersPerPort: { A: 2 } });
  await emulator.start();
  assert.is(emulator.waveformStatus, 'Disconnected');
  const c = await raw(emulator.commandPort);
  c.socket.write('set A-000.TCPDataOutputEnabled true;execute ConnectTCPWaveformDataOutput;get RunMode;');
  await until(() => c.state.text.endsWith('Stop'), 'the connect');
  assert.is(emulator.waveformStatus, 'Pending');
  const first = await raw(emulator.waveformPort);
  await until(() => emulator.waveformStatus === 'Connected', 'the first client accepted');
  const second = await raw(emulator.waveformPort);
  await until(() => second.state.closed, 'the second client refused');
  c.socket.write('set RunMode Run;');
  await until(() => first.state.bytes >= 10 * (4 + 128 * 6), 'ten blocks');
  assert.is(first.state.bytes % (4 + 128 * 6), 0);
  c.socket.write('set RunMode Stop;');
  for (const s of [c, first]) s.socket.destroy();
  await emulator.stop();
});

test.run();
