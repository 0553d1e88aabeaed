import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CpuKick } from '../../src/daemon/cpu-kick.js';

test('a kick wakes the helper thread; kicks while it is awake merge, so it never wakes more often than kicked', async () => {
  const cpuKick = new CpuKick();
  try {
    assert.is(cpuKick.wakeups, 0, 'asleep until kicked');
    cpuKick.kick();
    const afterOne = await cpuKick.wokenAfter(0);
    assert.is(afterOne, 1);
    for (let i = 0; i < 5; i++) cpuKick.kick();
    const afterMore = await cpuKick.wokenAfter(1);
    assert.ok(afterMore >= 2 && afterMore <= 6, `${afterMore} wake-ups for 6 kicks`);
  } finally {
    await cpuKick.close();
  }
});

test('close() ends the helper thread, is idempotent, and a kick after it does nothing', async () => {
  const cpuKick = new CpuKick();
  cpuKick.kick();
  await cpuKick.wokenAfter(0);
  await cpuKick.close();
  await cpuKick.close();
  const wakeups = cpuKick.wakeups;
  cpuKick.kick();
  assert.is(cpuKick.wakeups, wakeups, 'no thread left to wake');
});

test.run();
