// daemon.realtimePriority: chrt on one thread, refusals explained, the policy really set when allowed.
import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { requestRealtimePriority, schedulingPolicyOf, type CommandRunner } from '../../src/daemon/realtime-priority.js';

test('asks chrt for SCHED_FIFO on the one thread, and says what it set', () => {
  const calls: string[][] = [];
  const run: CommandRunner = (command, args) => {
    calls.push([command, ...args]);
    return { status: 0, stderr: '' };
  };
  const r = requestRealtimePriority(20, { threadId: 4242, platform: 'linux', run });
  assert.equal(calls, [['chrt', '--fifo', '--pid', '20', '4242']]);
  assert.ok(r.ok);
  assert.match(r.message, /SCHED_FIFO at priority 20/);
});

test('a refusal names the reason and the remedy; a missing chrt names its package; other systems are told plainly', () => {
  const refused = requestRealtimePriority(20, {
    threadId: 7,
    platform: 'linux',
    run: () => ({ status: 1, stderr: "chrt: failed to set pid 7's policy: Operation not permitted\n" }),
  });
  assert.not.ok(refused.ok);
  assert.match(refused.message, /daemon\.realtimePriority 20: refused \(chrt: failed to set pid 7's policy: Operation not permitted\)/);
  assert.match(refused.message, /rtprio 20/);
  assert.match(refused.message, /keeps its normal priority/);
  const enoent = Object.assign(new Error('spawnSync chrt ENOENT'), { code: 'ENOENT' });
  const missing = requestRealtimePriority(5, { platform: 'linux', run: () => ({ status: null, stderr: '', error: enoent }) });
  assert.not.ok(missing.ok);
  assert.match(missing.message, /util-linux/);
  const mac = requestRealtimePriority(5, { platform: 'darwin', run: () => assert.unreachable('chrt is Linux only') as never });
  assert.not.ok(mac.ok);
  assert.match(mac.message, /on darwin the acquisition thread keeps its normal priority/);
  assert.throws(() => requestRealtimePriority(0), /1 to 99, got 0/);
  assert.throws(() => requestRealtimePriority(100), /1 to 99, got 100/);
});

test('on this machine: the policy of a real thread is set when the user may, refused with the remedy when not', async () => {
  // A child process's main thread stands in for the daemon's (the test runner must not go real-time).
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { stdio: 'ignore' });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
    const pid = child.pid!;
    assert.is(schedulingPolicyOf(pid), 0, 'a new process runs under the normal policy');
    const r = requestRealtimePriority(1, { threadId: pid });
    if (process.getuid?.() === 0) {
      assert.ok(r.ok, r.message);
      assert.is(schedulingPolicyOf(pid), 1, 'SCHED_FIFO read back from /proc');
    } else if (!r.ok) {
      assert.match(r.message, /refused|not installed/);
      assert.is(schedulingPolicyOf(pid), 0, 'unchanged when refused');
    } else {
      assert.is(schedulingPolicyOf(pid), 1, 'allowed by an rtprio limit: SCHED_FIFO read back from /proc');
    }
  } finally {
    child.kill();
  }
});

test.run();
