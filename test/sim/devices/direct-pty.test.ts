// One pty between a driver and a device process, no socat: the launcher hands the pty down, the
// device process serves its master with TtyFdPort, and the real serial binding on the slave path
// talks to it both ways — also after the driver closed and reopened its end (the device process
// keeps the slave open so its master does not read EIO). Bad launcher input is named.
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SerialBinding } from '../../../drivers/binding/serial-binding.js';
import { inheritedPty, spawnWithDirectPty } from '../../../sim/devices/direct-pty.js';
import { PortCollector } from '../../helpers/pty-reader.js';

const echo = fileURLToPath(new URL('../../fixtures/direct-pty-echo.ts', import.meta.url));

async function startEcho(): Promise<{ child: ChildProcess; path: string }> {
  const child = spawnWithDirectPty(process.execPath, ['--import', 'tsx', echo], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const path = await new Promise<string>((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error('failure guard: the echo device did not report its path within 20 s')), 20_000);
    child.once('message', (m: { path: string }) => {
      clearTimeout(guard);
      resolve(m.path);
    });
    child.once('exit', (code) => reject(new Error(`the echo device exited (${code}) before reporting its path`)));
  });
  return { child, path };
}

test('bytes cross one pty both ways, unchanged, also after the driver reopens its end', async () => {
  const { child, path } = await startEcho();
  try {
    assert.match(path, /^\/dev\/pts\/\d+$/);
    for (let round = 0; round < 2; round++) {
      const port = await new SerialBinding().open({ path, baudRate: 115200 });
      const host = new PortCollector(port);
      const sent = Uint8Array.from([0, 10, 13, 0x7f, 0xd5, 0xfe, round]);
      await port.write(sent);
      assert.equal(await host.take(sent.length), [...sent].map((b) => (b + 1) & 0xff), `round ${round}: every byte answered, none translated (raw tty)`);
      await host.close();
    }
  } finally {
    child.disconnect();
    await new Promise((resolve) => child.once('exit', resolve));
  }
});

test('inheritedPty: absent → null; malformed → an error naming the variable and the expected form', () => {
  assert.is(inheritedPty({}), null);
  assert.equal(inheritedPty({ OPTOLOOP_DIRECT_PTY: '11,12,/dev/pts/7' }), { masterFd: 11, slaveFd: 12, slavePath: '/dev/pts/7' });
  assert.throws(() => inheritedPty({ OPTOLOOP_DIRECT_PTY: 'eleven' }), /OPTOLOOP_DIRECT_PTY: expected "<master fd>,<slave fd>,<slave path>", got "eleven"/);
});

test.run();
