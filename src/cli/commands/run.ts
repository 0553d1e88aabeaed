import { loadRigConfig } from '../../config/load.js';
import { Daemon } from '../../daemon/daemon.js';
import { consoleLog } from '../../daemon/log.js';
import { ProgressBar } from '../progress.js';
import { parseCommandArgs, usageError, type CliIo, type Command } from '../command.js';

export const runHelp = `Usage: optoloop run <config> [--port N] [--no-bus] [--optotag] [--status-every S]

Runs the daemon on a rig config (YAML or JSON; see config/ for examples and config/schema.json
for every option): opens the source and the stimulators, runs the detection pipeline, unit
assignment and cell-type classification, the closed-loop rules and optotagging, the WebSocket
bus with the live dashboard, and the recorder, until the stream ends or you press Ctrl-C.

Every stimulator is driven through the safety governor (config section "safety"): no rule, bus
message or config can exceed its limits, and the dashboard's, the bus's or Ctrl-C's stop turns
every light off.

Options:
  --port N          Listen for the bus and dashboard on port N (overrides bus.port).
  --no-bus          Run without the bus and dashboard.
  --optotag         Start an optotagging session as soon as the stream runs.
  --status-every S  Print a status line every S seconds (default 5; 0 for none).
  -h, --help        Show this help.

Exit status: 0 when the stream ended or was stopped, 1 when the daemon could not start or the
stream failed.`;

export const runCommand: Command = {
  name: 'run',
  summary: 'Run the daemon on a rig config (acquisition, detection, units, closed loop, bus, dashboard)',
  help: runHelp,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('run', {
      args: [...argv],
      options: { port: { type: 'string' }, 'no-bus': { type: 'boolean' }, optotag: { type: 'boolean' }, 'status-every': { type: 'string' } },
      allowPositionals: true,
    });
    if (positionals.length !== 1) throw usageError('run', `expected one config file, got ${positionals.length}`);
    const config = loadRigConfig(positionals[0]);
    if (values.port !== undefined) {
      const port = Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError('run', `--port: expected a port number 0…65535, got ${JSON.stringify(values.port)}`);
      config.bus.port = port;
    }
    if (values['no-bus']) config.bus.enabled = false;
    if (values.optotag) config.daemon.optotagOnStart = true;
    const statusEveryS = values['status-every'] === undefined ? 5 : Number(values['status-every']);
    if (!(statusEveryS >= 0)) throw usageError('run', `--status-every: expected seconds ≥ 0, got ${JSON.stringify(values['status-every'])}`);
    return runDaemon(config, io, statusEveryS);
  },
};

/** Starts the daemon, prints where to watch it, and runs until the stream ends or the user stops it. */
export async function runDaemon(config: Parameters<typeof Daemon.start>[0], io: CliIo, statusEveryS: number): Promise<number> {
  const daemon = await Daemon.start(config, { log: consoleLog(io.err) });
  if (daemon.dashboardUrl) io.out(`optoloop: dashboard at ${daemon.dashboardUrl}\n`);
  let timer: NodeJS.Timeout | null = null;
  // A progress bar for file replays (terminals only): frames through the pipeline over the file's length.
  const total = daemon.stream?.totalFrames ?? null;
  const bar = io.isTty && total !== null && config.source.kind === 'file' && !config.source.loop
    ? new ProgressBar({ out: io.err, isTty: true, sampleRateHz: daemon.stream!.sampleRateHz, totalFrames: total, label: 'replay' })
    : null;
  const barTimer = bar ? setInterval(() => bar.update(daemon.counters.frames), 100) : null;
  barTimer?.unref();
  if (statusEveryS > 0) {
    let lastSpikes = 0;
    let lastStreamS = 0;
    timer = setInterval(() => io.err(`${statusLine(daemon, lastSpikes, lastStreamS)}\n`), statusEveryS * 1000);
    timer.unref();
    const sample = setInterval(() => {
      lastSpikes = daemon.counters.spikes;
      lastStreamS = daemon.status().streamTimeS;
    }, statusEveryS * 1000);
    sample.unref();
  }
  await Promise.race([daemon.done, io.interrupted.then(() => daemon.stop())]);
  if (timer) clearInterval(timer);
  if (barTimer) clearInterval(barTimer);
  bar?.finish(daemon.counters.frames);
  await daemon.stop();
  return daemon.failure ? 1 : 0;
}

function statusLine(daemon: Daemon, lastSpikes: number, lastStreamS: number): string {
  const s = daemon.status();
  const units = daemon.unitSummaries();
  const labelled = units.filter((u) => u.classification?.label).length;
  const dt = s.streamTimeS - lastStreamS;
  const rate = dt > 0 ? (daemon.counters.spikes - lastSpikes) / dt : 0;
  const software = s.latency.find((l) => l.name === 'software');
  const latency = software && software.count ? `, trigger latency p50 ${software.p50Us?.toFixed(0)} µs p99 ${software.p99Us?.toFixed(0)} µs` : '';
  return (
    `status: stream ${s.streamTimeS.toFixed(1)} s, ${rate.toFixed(0)} spikes/s, ${units.length} units (${labelled} labelled), ` +
    `${daemon.counters.triggers} triggers${latency}, source buffer ${(s.sourceBufferOccupancy * 100).toFixed(0)} %, dropped ${s.blocksDropped}` +
    `${s.estopEngaged ? ', EMERGENCY STOP ENGAGED' : ''}`
  );
}
