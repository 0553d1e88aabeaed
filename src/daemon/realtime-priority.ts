/**
 * Real-time scheduling for the acquisition thread (`daemon.realtimePriority`).
 *
 * The main thread runs the source, the pipeline, the rules and the sinks' writes. Under the normal
 * Linux scheduler it is preempted whenever a write wakes another task — the kernel worker that
 * pushes a tty's bytes, the process reading the other end — and on a busy 2-core host it then
 * waits milliseconds to run again, inside the write (measured by `npm run bench:latency`: the
 * software tail is the write syscall, not the pipeline). Under SCHED_FIFO it is not preempted by
 * ordinary tasks.
 *
 * Node has no call for it, so the policy is set by util-linux's `chrt` on the thread whose id is
 * the process id (the main thread): `chrt --pid` changes that thread only. Threads it creates
 * afterwards inherit the policy; the daemon therefore asks for it after the classifier's worker
 * has started (inference is background work and must not run at real-time priority) and just
 * before the source starts, so that a simulator's timekeeper thread, which stands in for the
 * device's clock, runs real-time too. (A process spawned afterwards would inherit it as well; the
 * daemon spawns none. chrt's --reset-on-fork would stop both kinds of inheritance, the timekeeper's
 * included, so it is not used.)
 *
 * Without the right (CAP_SYS_NICE, or an `rtprio` limit at least the priority in
 * /etc/security/limits.conf) the request is refused: the daemon says so and runs on.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface RealtimeOutcome {
  readonly ok: boolean;
  /** What happened, for the log: the policy set, or why not and what to do about it. */
  readonly message: string;
}

/** How the outcome's command is run (injected by tests). */
export type CommandRunner = (command: string, args: readonly string[]) => { status: number | null; stderr: string; error?: Error };

const runCommand: CommandRunner = (command, args) => {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 5000 });
  return { status: r.status, stderr: r.stderr ?? '', error: r.error };
};

/** Puts thread `threadId` (default: this process's main thread) under SCHED_FIFO at `priority` (1–99). */
export function requestRealtimePriority(
  priority: number,
  options: { threadId?: number; platform?: string; run?: CommandRunner } = {},
): RealtimeOutcome {
  if (!(Number.isInteger(priority) && priority >= 1 && priority <= 99)) {
    throw new RangeError(`realtime priority: expected an integer from 1 to 99, got ${priority}`);
  }
  const platform = options.platform ?? process.platform;
  if (platform !== 'linux') {
    return { ok: false, message: `daemon.realtimePriority ${priority}: real-time scheduling is set with Linux's chrt; on ${platform} the acquisition thread keeps its normal priority` };
  }
  const threadId = options.threadId ?? process.pid;
  const r = (options.run ?? runCommand)('chrt', ['--fifo', '--pid', String(priority), String(threadId)]);
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    return {
      ok: false,
      message: `daemon.realtimePriority ${priority}: ${missing ? 'chrt (Debian package util-linux) is not installed' : `chrt could not run (${r.error.message})`}; the acquisition thread keeps its normal priority`,
    };
  }
  if (r.status !== 0) {
    const why = r.stderr.trim().split('\n').pop() || `chrt exited with ${r.status}`;
    return {
      ok: false,
      message:
        `daemon.realtimePriority ${priority}: refused (${why}); the acquisition thread keeps its normal priority. ` +
        `Allow it with CAP_SYS_NICE or an rtprio limit of at least ${priority} for this user (/etc/security/limits.conf: "<user> - rtprio ${priority}"), or set daemon.realtimePriority to 0`,
    };
  }
  return { ok: true, message: `acquisition thread under SCHED_FIFO at priority ${priority}` };
}

/** The scheduling policy number of a Linux thread (0 normal, 1 FIFO, 2 RR), from /proc; null when unreadable. */
export function schedulingPolicyOf(threadId: number, processId = threadId): number | null {
  try {
    // /proc/<pid>/task/<tid>/stat: the policy is field 41, counted after the command name's ')'.
    const stat = readFileSync(`/proc/${processId}/task/${threadId}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const policy = Number(fields[41 - 3]);
    return Number.isInteger(policy) ? policy : null;
  } catch {
    return null;
  }
}
