/**
 * The serial binding on real pseudo-terminals: a read pending when the other end hangs up must
 * end as E_DEVICE_DISCONNECTED — never spin on end-of-file — and a read pending when we close
 * must end as E_READ_CANCELLED.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SerialBinding } from '../../../drivers/binding/serial-binding.js';
import { OptoloopError } from '../../../src/core/errors.js';
import { PtyPair } from '../../../sim/devices/pty-pair.js';

const serial = new SerialBinding();

/** Settles with the read's error (or null), failing the test if it never settles. */
function outcome(read: Promise<unknown>, what: string, guardMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`failure guard: ${what} never settled`)), guardMs);
    read.then(
      () => {
        clearTimeout(guard);
        resolve(null);
      },
      (error) => {
        clearTimeout(guard);
        resolve(error);
      },
    );
  });
}

test('a hang-up of the other end ends the pending read as disconnected, every time (20 unplugs)', async () => {
  const pair = await PtyPair.create();
  try {
    for (let i = 0; i < 20; i++) {
      const host = await serial.open({ path: pair.hostPath, baudRate: 115200 });
      const pending = outcome(host.read(new Uint8Array(32), 0, 32), `read ${i}`);
      await pair.stop();
      const error = await pending;
      assert.ok(error instanceof OptoloopError, `unplug ${i}: the read failed`);
      assert.is((error as OptoloopError).code, 'E_DEVICE_DISCONNECTED', `unplug ${i}`);
      await host.close();
      await pair.start();
    }
  } finally {
    await pair.close();
  }
});

test('our own close ends the pending read as cancelled', async () => {
  const pair = await PtyPair.create();
  try {
    const host = await serial.open({ path: pair.hostPath, baudRate: 115200 });
    const pending = outcome(host.read(new Uint8Array(32), 0, 32), 'the read');
    await host.close();
    const error = await pending;
    assert.is((error as OptoloopError).code, 'E_READ_CANCELLED');
  } finally {
    await pair.close();
  }
});

test('reads land in the caller’s buffer at the offset asked', async () => {
  const pair = await PtyPair.create();
  try {
    const host = await serial.open({ path: pair.hostPath, baudRate: 115200 });
    const device = await serial.open({ path: pair.devicePath, baudRate: 115200 });
    const buffer = new Uint8Array(16).fill(0xee);
    const reading = host.read(buffer, 4, 8);
    await device.write(Uint8Array.of(1, 2, 3));
    const { bytesRead } = await reading;
    assert.ok(bytesRead >= 1 && bytesRead <= 3);
    assert.equal([...buffer.subarray(0, 4 + bytesRead)], [0xee, 0xee, 0xee, 0xee, 1, 2, 3].slice(0, 4 + bytesRead));
    assert.is(buffer[15], 0xee);
    assert.is(await host.setLowLatency(), false, 'a pty has no low-latency mode, and says so without throwing');
    await host.close();
    await device.close();
  } finally {
    await pair.close();
  }
});

test('writeNow hands the bytes to the OS inside the call; after close it takes nothing', async () => {
  const pair = await PtyPair.create();
  try {
    const host = await serial.open({ path: pair.hostPath, baudRate: 115200 });
    const device = await serial.open({ path: pair.devicePath, baudRate: 115200 });
    const buffer = new Uint8Array(16);
    const reading = device.read(buffer, 0, 16);
    assert.is(host.writeNow!(Uint8Array.of(213, 77, 5)), 3, 'all three bytes taken at once');
    const got: number[] = [];
    let r = await reading;
    got.push(...buffer.subarray(0, r.bytesRead));
    while (got.length < 3) {
      r = await device.read(buffer, 0, 16);
      got.push(...buffer.subarray(0, r.bytesRead));
    }
    assert.equal(got, [213, 77, 5]);
    await host.close();
    assert.is(host.writeNow!(Uint8Array.of(1)), 0, 'a closed port takes nothing (the caller falls back to write())');
    await device.close();
  } finally {
    await pair.close();
  }
});

test.run();
