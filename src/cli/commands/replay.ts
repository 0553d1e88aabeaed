import { loadRigConfig, validateRigConfig } from '../../config/load.js';
import { parseCommandArgs, parseSpeed, usageError, type Command } from '../command.js';
import { runDaemon } from './run.js';

export const replayCommand: Command = {
  name: 'replay',
  summary: 'Replay a recording through the daemon at real pace, any factor, or as fast as possible',
  help: `Usage: optoloop replay <recording> [--speed N|max] [--config F] [--loop] [--no-bus] [--port N]

Runs the daemon with a recorded file as its source, exactly as it would run on a live rig: the
pipeline, units and cell types, the closed loop (with the config's sinks behind the safety
governor), the bus and the dashboard. Blocks are paced by the wall clock at --speed times real
time, or delivered as fast as the pipeline takes them with --speed max.

<recording> is a SpikeGLX .bin or .meta, an Open Ephys structure.oebin (or its folder), an Intan
.rhd, or a raw int16 .bin/.dat with its JSON sidecar (docs/io.md).

Options:
  --speed N|max  Pace: 1 = real time (default), 4 = four times faster, max = as fast as possible.
  --config F     A rig config for everything but the source (pipeline, probe, sinks, rules, bus…).
  --loop         Start again at the end of the file (sample indices keep counting).
  --no-bus       Run without the bus and dashboard.
  --port N       Bus and dashboard port (overrides bus.port).
  -h, --help     Show this help.

Exit status: 0 when the file was replayed to its end (or stopped with Ctrl-C), 1 on failure.`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('replay', {
      args: [...argv],
      options: { speed: { type: 'string' }, config: { type: 'string' }, loop: { type: 'boolean' }, 'no-bus': { type: 'boolean' }, port: { type: 'string' } },
      allowPositionals: true,
    });
    if (positionals.length !== 1) throw usageError('replay', `expected one recording, got ${positionals.length}`);
    const pace = parseSpeed('replay', values.speed);
    const base = values.config ? loadRigConfig(values.config) : validateRigConfig({ source: { kind: 'file', path: positionals[0] } }, 'defaults');
    const blockFrames = base.source.kind === 'file' || base.source.kind === 'sim' ? base.source.blockFrames : 30;
    const config = validateRigConfig(
      { ...base, sinks: base.sinks, source: { kind: 'file', path: positionals[0], realTime: pace.realTime, speed: pace.speed, loop: values.loop ?? false, blockFrames } },
      values.config ?? 'replay',
    );
    if (values['no-bus']) config.bus.enabled = false;
    if (values.port !== undefined) {
      const port = Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError('replay', `--port: expected a port number 0…65535, got ${JSON.stringify(values.port)}`);
      config.bus.port = port;
    }
    return runDaemon(config, io, 5);
  },
};
