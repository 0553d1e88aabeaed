import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TcpBinding, parseTcpPath, tcpPath } from '../../../drivers/binding/tcp-binding.js';
import { isReadCancelled } from '../../../drivers/binding/binding.js';
import { ManualTimers } from '../../../drivers/binding/timers.js';
import { isOptoloopError } from '../../../src/core/errors.js';
import { loopbackServer, seededBytes, until } from '../../helpers/net.js';


const binding = new TcpBinding();

async function readAll(port: { read: (b: Uint8Array, o: number, l: number) => Promise<{ bytesRead: number }> }, total: number, chunk: number) {
  const out = new Uint8Array(total);
  let n = 0;
  while (n < total) n += (await port.read(out, n, Math.min(chunk, total - n))).bytesRead;
  return out;
}

test('paths: host:port and bracketed IPv6 round-trip; a bad path is refused with the path named', () => {
  assert.equal(parseTcpPath(tcpPath('127.0.0.1', 5000)), { host: '127.0.0.1', port: 5000 });
  assert.equal(parseTcpPath(tcpPath('::1', 4142)), { host: '::1', port: 4142 });
  try {
    parseTcpPath('localhost');
    assert.unreachable();
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_OPTIONS_INVALID'));
    assert.match((error as Error).message, '"localhost"');
  }
});

test('a 2 MB stream through a 4 KiB ring arrives whole and in order (socket paused and resumed)', async () => {
  const payload = seededBytes(7, 2_000_000);
  const srv = await loopbackServer((s) => s.end(payload));
  const port = await binding.open({ path: tcpPath('127.0.0.1', srv.port), ringBytes: 4096 });
  const got = await readAll(port, payload.length, 1500);
  assert.ok(Buffer.from(got).equals(Buffer.from(payload)));
  await port.close();
  await srv.close();
});

test('bytes written one at a time by the peer arrive in order', async () => {
  const payload = seededBytes(3, 300);
  const srv = await loopbackServer(async (s) => {
    for (const b of payload) await new Promise<void>((r) => s.write(Uint8Array.of(b), () => setImmediate(r)));
  });
  const port = await binding.open({ path: tcpPath('127.0.0.1', srv.port) });
  const got = await readAll(port, payload.length, 64);
  assert.equal([...got], [...payload]);
  await port.close();
  await srv.close();
});

test('writes reach the peer', async () => {
  let received = '';
  let done: () => void = () => {};
  const all = new Promise<void>((r) => (done = r));
  const srv = await loopbackServer((s) =>
    s.on('data', (d) => {
      received += d.toString('latin1');
      if (received.length >= 11) done();
    }),
  );
  const port = await binding.open({ path: tcpPath('127.0.0.1', srv.port) });
  await port.write(new TextEncoder().encode('get Type;'));
  await port.write(new TextEncoder().encode('a;'));
  await all;
  assert.is(received, 'get Type;a;');
  await port.close();
  await srv.close();
});

test('close() cancels a pending read with E_READ_CANCELLED, and later reads too', async () => {
  const srv = await loopbackServer(() => {});
  const port = await binding.open({ path: tcpPath('127.0.0.1', srv.port) });
  const pending = port.read(new Uint8Array(16), 0, 16).then(
    () => null,
    (error: unknown) => error,
  );
  await port.close();
  assert.ok(isReadCancelled(await pending));
  try {
    await port.read(new Uint8Array(4), 0, 4);
    assert.unreachable();
  } catch (error) {
    assert.ok(isReadCancelled(error));
  }
  await srv.close();
});

test('the peer closing: the bytes sent before are read first, then E_DEVICE_DISCONNECTED', async () => {
  const srv = await loopbackServer((s) => s.end(Buffer.from('Return: RunMode Stop')));
  const port = await binding.open({ path: tcpPath('127.0.0.1', srv.port) });
  await until(() => !port.isOpen, 'the FIN to arrive before we read');
  const got = await readAll(port, 20, 64);
  assert.is(Buffer.from(got).toString('latin1'), 'Return: RunMode Stop');
  try {
    await port.read(new Uint8Array(4), 0, 4);
    assert.unreachable();
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_DEVICE_DISCONNECTED'), String(error));
  }
  await port.close();
  await srv.close();
});

test('a reset by the peer rejects the pending read with E_DEVICE_DISCONNECTED', async () => {
  let peer: Socket | null = null;
  const srv = await loopbackServer((s) => (peer = s));
  const port = await binding.open({ path: tcpPath('127.0.0.1', srv.port) });
  while (!peer) await new Promise((r) => setTimeout(r, 1));
  const pending = port.read(new Uint8Array(4), 0, 4).then(
    () => null,
    (error: unknown) => error,
  );
  (peer as Socket).resetAndDestroy();
  const error = await pending;
  assert.ok(isOptoloopError(error, 'E_DEVICE_DISCONNECTED'), String(error));
  assert.not.ok(isReadCancelled(error));
  try {
    await port.write(Uint8Array.of(1));
    assert.unreachable();
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_DEVICE_DISCONNECTED'));
  }
  await port.close();
  await srv.close();
});

test('nothing listening: E_DEVICE_NOT_FOUND naming host:port', async () => {
  const srv = await loopbackServer(() => {});
  const freePort = srv.port;
  await srv.close();
  try {
    await binding.open({ path: tcpPath('127.0.0.1', freePort) });
    assert.unreachable();
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_DEVICE_NOT_FOUND'), String(error));
    assert.match((error as Error).message, `127.0.0.1:${freePort}`);
  }
});

test('a peer that never completes the handshake: E_DEVICE_TIMEOUT after the connect timeout', async () => {
  // A listener in a child process whose event loop is blocked never accepts: once its backlog is
  // full the kernel drops further SYNs, so our connect hangs like one to a powered-off host.
  const code =
    "const net=require('net');const s=net.createServer();" +
    "s.listen({port:0,host:'127.0.0.1',backlog:1},()=>{process.send(s.address().port,()=>{Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0)})});";
  const child: ChildProcess = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const hungPort = await new Promise<number>((resolve) => child.once('message', (m) => resolve(m as number)));
  const fillers = Array.from({ length: 4 }, () => connect(hungPort, '127.0.0.1').on('error', () => {}));
  const timers = new ManualTimers();
  const opening = binding.open({ path: tcpPath('127.0.0.1', hungPort), connectTimeoutMs: 750, timers });
  timers.advanceMs(749);
  timers.advanceMs(1);
  try {
    await opening;
    assert.unreachable();
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_DEVICE_TIMEOUT'), String(error));
    assert.match((error as Error).message, '750 ms');
  } finally {
    for (const f of fillers) f.destroy();
    child.kill('SIGKILL');
  }
});

test.run();
