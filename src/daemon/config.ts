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
  },
  { description: 'The daemon itself.' },
);

export type DaemonConfig = s.Infer<typeof daemonConfigSchema>;
