import { existsSync } from 'node:fs';
import { loadRigConfig, validateRigConfig } from '../../config/load.js';
import { detectRecording } from '../../offline/detect-recording.js';
import { ProgressBar } from '../progress.js';
import { parseCommandArgs, usageError, type Command } from '../command.js';

const FORMATS = ['auto', 'spikeglx', 'openephys', 'intan-rhd', 'raw'] as const;

export const detectCommand: Command = {
  name: 'detect',
  summary: 'Detect spikes in a recording offline, through the same pipeline as the daemon, into a CSV',
  help: `Usage: optoloop detect <recording> --out spikes.csv [--config F] [--format F] [--probe FILE]

Replays a recording as fast as possible through the daemon's own pipeline (common reference →
band-pass → noise estimate → threshold detection with spatial de-duplication) and writes one row
per spike:

  sample,time_s,channel,amplitude_uv

sample    index of the spike's trough counted from the file's first sample
time_s    sample / sample rate
channel   peak channel, as an index among the recording's neural channels
amplitude_uv  filtered amplitude at the trough, µV (negative)

<recording> is a SpikeGLX .bin or .meta, an Open Ephys structure.oebin (or its folder), an Intan
.rhd, or a raw int16 .bin/.dat with its JSON sidecar (docs/io.md).

Options:
  --out FILE     The CSV to write (required).
  --config F     Take the pipeline and probe sections from this rig config (defaults otherwise).
  --format F     Recording format: ${FORMATS.join(', ')} (default auto, from the path).
  --probe FILE   A probeinterface JSON for the geometry (overrides the config and the recording).
  -h, --help     Show this help.

Spikes whose trough lies in the last peakWindowMs of the file are not reported (the detector
needs that much signal after a trough to know it is the extreme).`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('detect', {
      args: [...argv],
      options: { out: { type: 'string' }, config: { type: 'string' }, format: { type: 'string' }, probe: { type: 'string' } },
      allowPositionals: true,
    });
    if (positionals.length !== 1) throw usageError('detect', `expected one recording, got ${positionals.length}`);
    if (!values.out) throw usageError('detect', '--out: expected the CSV file to write');
    const format = (values.format ?? 'auto') as (typeof FORMATS)[number];
    if (!FORMATS.includes(format)) throw usageError('detect', `--format: expected one of ${FORMATS.join(', ')}, got ${JSON.stringify(values.format)}`);
    if (values.probe && !existsSync(values.probe)) throw usageError('detect', `--probe: no such file ${values.probe}`);
    const config = values.config ? loadRigConfig(values.config) : validateRigConfig({ source: { kind: 'file', path: positionals[0] } }, 'defaults');
    if (values.probe) config.probe.file = values.probe;
    let bar: ProgressBar | null = null;
    const started = performance.now();
    const result = await detectRecording({
      recordingPath: positionals[0],
      outPath: values.out,
      config,
      format,
      warn: (m) => io.err(`optoloop detect: ${m}\n`),
      onOpen: (stream) => {
        bar = new ProgressBar({ out: io.err, isTty: io.isTty, sampleRateHz: stream.sampleRateHz, totalFrames: stream.totalFrames, label: 'detect' });
      },
      onProgress: (frames) => (bar as ProgressBar | null)?.update(frames),
    });
    (bar as ProgressBar | null)?.finish(result.frames);
    const seconds = result.frames / result.stream.sampleRateHz;
    const wallS = (performance.now() - started) / 1000;
    io.out(
      `${values.out}: ${result.spikes} spikes in ${seconds.toFixed(2)} s of ${result.stream.channelCount}-channel recording ` +
        `(${(result.spikes / Math.max(seconds, 1e-9)).toFixed(1)} spikes/s; ${(seconds / wallS).toFixed(1)}× real time; geometry from ${result.layoutOrigin})\n`,
    );
    return 0;
  },
};
