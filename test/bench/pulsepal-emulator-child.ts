/**
 * The far end of the latency benchmark's Pulse Pal: the PulsePalEmulator in a process of its own
 * (started by latency.bench.ts with an IPC channel) so that, as with a real device, the emulator
 * does not wait on the daemon's event loop. It serves the device end of one pty that its launcher
 * opened for it (sim/devices/direct-pty.ts), so that what is timed is the tty, not a relay; started
 * without one (`--socat`), it makes a socat pty pair instead, as the device servers do.
 *
 * It tells the parent the host end to open and the offset of its performance.now() clock from
 * CLOCK_MONOTONIC (process.hrtime), which every process on the machine shares, so the parent can
 * put the emulator's read times on its own clock. Trigger arrivals (the time the read holding the
 * op 77 bytes returned, and the output mask) go to the parent in batches, so that the IPC does not
 * add a message per trigger to either event loop.
 */
import { inheritedPty, TtyFdPort } from '../../sim/devices/direct-pty.js';
import { PtyPair } from '../../sim/devices/pty-pair.js';
import { PulsePalEmulator } from '../../sim/devices/pulsepal/emulator.js';
import { PerformanceObserver } from 'node:perf_hooks';
import { monotonicMinusClockNs } from './monotonic-offset.js';

export type ChildMessage =
  | { readonly type: 'ready'; readonly hostPath: string; readonly monotonicMinusClockNs: number }
  | { readonly type: 'triggers'; readonly timeNs: number[]; readonly mask: number[] }
  | { readonly type: 'flushed'; readonly gcPausesMs: number[]; readonly longestLoopGapMs: number };
export type ParentMessage = { readonly type: 'flush' } | { readonly type: 'close' };

const BATCH = 256;
const BATCH_MS = 200;

function send(message: ChildMessage): void {
  process.send?.(message);
}

if (process.send) {
  const pty = inheritedPty();
  const pair = pty ? null : await PtyPair.create();
  const emulator = pty
    ? new PulsePalEmulator({ path: pty.slavePath, openPort: async () => new TtyFdPort(pty.masterFd, `${pty.slavePath} (device end)`) })
    : new PulsePalEmulator({ path: pair!.devicePath });
  const hostPath = pty ? pty.slavePath : pair!.hostPath;
  await emulator.start();
  let times: number[] = [];
  let masks: number[] = [];
  const flush = () => {
    if (times.length === 0) return;
    send({ type: 'triggers', timeNs: times, mask: masks });
    times = [];
    masks = [];
  };
  emulator.events$.subscribe((e) => {
    if (e.type !== 'trigger') return;
    times.push(e.timeNs);
    masks.push(e.mask);
    if (times.length >= BATCH) flush();
  });
  const timer = setInterval(flush, BATCH_MS);
  // The emulator's own pauses, so that the bench can tell a late read on our side from the daemon's.
  const gcPausesMs: number[] = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcPausesMs.push(e.duration);
  }).observe({ entryTypes: ['gc'] });
  let longestLoopGapMs = 0;
  let lastTickMs = performance.now();
  const probe = setInterval(() => {
    const now = performance.now();
    longestLoopGapMs = Math.max(longestLoopGapMs, now - lastTickMs);
    lastTickMs = now;
  }, 5);
  probe.unref();
  process.on('message', (m: ParentMessage) => {
    if (m.type === 'flush') {
      flush();
      send({ type: 'flushed', gcPausesMs, longestLoopGapMs });
    } else if (m.type === 'close') {
      clearInterval(timer);
      flush();
      void emulator
        .close()
        .then(() => pair?.close())
        .finally(() => process.disconnect());
    }
  });
  // The parent going away ends us too (and the pair's socat with us).
  process.on('disconnect', () => {
    clearInterval(timer);
    void emulator.close().then(() => pair?.close());
  });
  send({ type: 'ready', hostPath, monotonicMinusClockNs: monotonicMinusClockNs() });
}
