import * as s from '../config/schema.js';

export const daemonConfigSchema = s.object(
  {
    sourceBufferMs: s.number({
      above: 0,
      default: 1000,
      description:
        'How much stream the rig can buffer upstream (socket, pty, device FIFO) before data is lost: the scale of the published source buffer occupancy.',
    }),
    statusIntervalMs: s.number({ min: 100, default: 1000, description: 'Period of the status message on the bus.' }),
    unitsIntervalMs: s.number({ min: 100, default: 500, description: 'Period of the unit table updates on the bus.' }),
    optotagOnStart: s.boolean({ default: false, description: 'Start an optotagging session as soon as the stream runs (unattended sessions).' }),
    realtimePriority: s.number({
      integer: true,
      min: 0,
      max: 99,
      default: 0,
      description:
        'SCHED_FIFO priority (1–99) of the acquisition thread, which runs the source, pipeline, rules and stimulator writes; 0 keeps normal scheduling. On a busy host it keeps a write to the stimulator from waiting milliseconds for the CPU (docs/closedloop.md, latency). Linux only; needs CAP_SYS_NICE or an rtprio limit (limits.conf): when refused the daemon warns and runs on.',
    }),
    triggerYieldUs: s.number({
      min: 0,
      max: 200,
      default: 30,
      description:
        'After a block whose rules triggered a stimulator, the acquisition thread sleeps this long (µs) before the rest of the block’s work, so that the kernel can deliver the write: a pty’s far end (an emulated device, socat) receives it through a kernel worker that a real-time acquisition thread would keep waiting (docs/closedloop.md, latency). 0: no pause.',
    }),
    triggerKick: s.boolean({
      default: true,
      description:
        'After that pause, wake a helper thread (real-time with the acquisition thread) so that the other CPU reschedules: the kernel worker that delivers a write to a pty’s far end may be queued there behind a normal-priority thread until that CPU’s next interrupt, up to ~1 ms (docs/closedloop.md, latency). Costs one futex wake per block that triggered; a USB device does not need it. false: no kick.',
    }),
  },
  { description: 'The daemon itself.' },
);

export type DaemonConfig = s.Infer<typeof daemonConfigSchema>;
