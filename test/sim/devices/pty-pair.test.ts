import { spawn } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { BindingPort } from '../../../drivers/binding/binding.js';
import { SerialBinding } from '../../../drivers/binding/serial-binding.js';
import { OptoloopError } from '../../../src/core/errors.js';
import { PtyPair } from '../../../sim/devices/pty-pair.js';
import { until } from '../../helpers/async.js';

const serial = new SerialBinding();

async function readExactly(port: BindingPort, count: number): Promise<number[]> {
  const buffer = new Uint8Array(64);
  const out: number[] = [];
  while (out.length < count) {
    const { bytesRead } = await port.read(buffer, 0, buffer.length);
    for (let i = 0; i < bytesRead; i++) out.push(buffer[i]);
  }
  return out;
}

test('creates two linked ptys; bytes flow both ways unchanged', async () => {
  const pair = await PtyPair.create();
  try {
    assert.ok(lstatSync(pair.hostPath).isSymbolicLink());
    assert.match(readlinkSync(pair.devicePath), /^\/dev\/pts\/\d+$/);
    const host = await serial.open({ path: pair.hostPath, baudRate: 115200 });
    const device = await serial.open({ path: pair.devicePath, baudRate: 115200 });
    const all = Uint8Array.from({ length: 256 }, (_, i) => i); // every byte value, no line discipline
    await host.write(all);
    assert.equal(await readExactly(device, 256), [...all]);
    await device.write(new Uint8Array([0xd5, 0x0a, 0x0d, 0x00]));
    assert.equal(await readExactly(host, 4), [0xd5, 0x0a, 0x0d, 0x00]);
    await host.close();
    await device.close();
  } finally {
    await pair.close();
  }
});

test('stop() is an unplug: a pending read fails as disconnected and the links vanish; start() replugs', async () => {
  const pair = await PtyPair.create();
  try {
    const host = await serial.open({ path: pair.hostPath, baudRate: 115200 });
    const pending = host.read(new Uint8Array(16), 0, 16).then(
      () => null,
      (error: unknown) => error,
    );
    await pair.stop();
    const failure = await pending;
    assert.ok(failure instanceof OptoloopError, 'the read fails');
    assert.is((failure as OptoloopError).code, 'E_DEVICE_DISCONNECTED');
    assert.not.ok(existsSync(pair.hostPath));
    assert.not.ok(existsSync(pair.devicePath));
    await host.close();
    await pair.start();
    const again = await serial.open({ path: pair.hostPath, baudRate: 115200 });
    const device = await serial.open({ path: pair.devicePath, baudRate: 115200 });
    await device.write(new Uint8Array([42]));
    assert.equal(await readExactly(again, 1), [42]);
    await again.close();
    await device.close();
  } finally {
    await pair.close();
  }
  assert.not.ok(existsSync(pair.dir), 'the temporary folder is removed');
});

test('a missing socat is a clear error naming the fix', async () => {
  try {
    await PtyPair.create({ socatPath: '/nonexistent/socat' });
    assert.unreachable('should reject');
  } catch (error) {
    assert.is((error as OptoloopError).code, 'E_DEVICE_NOT_FOUND');
    assert.match((error as Error).message, 'apt-get install socat');
  }
});

test('socat does not outlive a process killed with SIGKILL', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../../fixtures/pty-pair-child.ts', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await until(() => out.includes('\n'), 'the child to report its pair');
  const [pid, hostPath] = out.trim().split(' ');
  assert.ok(Number(pid) > 0, `socat pid ${pid}`);
  assert.ok(existsSync(`/proc/${pid}`), 'socat runs');
  assert.ok(existsSync(hostPath));
  child.kill('SIGKILL');
  await until(() => !existsSync(`/proc/${pid}`) || readProcState(pid) === 'Z', 'socat to stop after its parent died');
  assert.not.ok(existsSync(hostPath), 'socat removed its link on the way out');
});

function readProcState(pid: string): string {
  try {
    return /State:\s+(\S)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
  } catch {
    return '';
  }
}

test.run();
