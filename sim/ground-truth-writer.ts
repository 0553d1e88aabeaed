/**
 * Writes the ground truth beside a recording, as JSON (everything) and CSV (one table each):
 *   ground_truth.json  — units (id, type, layer, position, opsin, SNR, peak channel, amplitude,
 *                        firing and light parameters), spikes, light pulses, how they were made
 *   spikes.csv         — unit,time_s,sample_index,evoked (sorted by time, then unit)
 *   units.csv          — one row per foreground unit
 *   light_pulses.csv   — onset_s,offset_s,onset_sample,offset_sample,level,output,request_id
 *                        (the reason of each pulse is in the JSON)
 * A spike's sample index is the sample of its trough on its peak channel (template index
 * `samplesBefore`); background units (multi-unit hash) are counted but their spikes not listed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OptoloopError } from '../src/core/errors.js';
import type { Simulation } from './simulation.js';

export const GROUND_TRUTH_FILES = {
  json: 'ground_truth.json',
  spikes: 'spikes.csv',
  units: 'units.csv',
  pulses: 'light_pulses.csv',
} as const;

export function groundTruthDocument(sim: Simulation): Record<string, unknown> {
  const gt = sim.generator.groundTruth;
  const rate = sim.options.sampleRateHz;
  const order = gt.sortedOrder();
  const foreground = sim.units.filter((u) => !u.background);
  return {
    format: 'optoloop-sim-ground-truth',
    version: 1,
    generatedSamples: sim.generator.position,
    sampleRateHz: rate,
    options: sim.options,
    probe: sim.generator.layout.probeName,
    definitions: {
      spikeSample: 'sample index of the spike trough on the unit peak channel',
      snr: 'peak amplitude of the noise-free waveform on the peak channel (µV) / thermal noise σ of that channel (µV), at zero drift',
      positionUm: 'x, y in the probe plane (probeinterface coordinates), z = distance from the probe plane',
    },
    units: foreground.map((u) => ({
      id: u.id,
      type: u.type,
      layer: u.layer,
      cellId: u.cellId,
      xUm: round(u.xUm),
      yUm: round(u.yUm),
      zUm: round(u.zUm),
      opsin: u.opsin,
      lightResponsive: u.lightResponsive,
      peakChannel: u.peakChannel,
      peakAmplitudeUv: round(u.peakAmplitudeUv),
      snr: round(u.snr),
      troughToPeakMs: round(u.shape.troughToPeakMs, 4),
      firing: u.firing,
      light: u.light,
      channels: Array.from(u.channels),
    })),
    backgroundUnits: sim.units.length - foreground.length,
    spikes: {
      sample: Array.from(order, (i) => gt.spikeSample[i]),
      unit: Array.from(order, (i) => gt.spikeUnit[i]),
      evoked: Array.from(order, (i) => gt.spikeEvoked[i]),
    },
    lightPulses: gt.pulses.map((p) => ({ ...p, onsetS: p.onsetSample / rate, offsetS: p.offsetSample / rate })),
  };
}

export function writeGroundTruth(sim: Simulation, dir: string): string[] {
  const gt = sim.generator.groundTruth;
  const rate = sim.options.sampleRateHz;
  const files: string[] = [];
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    try {
      writeFileSync(path, text);
    } catch (cause) {
      throw new OptoloopError('E_FILE_WRITE', `${path}: cannot write ground truth (${(cause as Error).message})`, { stage: 'sim', cause, details: { file: path } });
    }
    files.push(path);
  };
  write(GROUND_TRUTH_FILES.json, `${JSON.stringify(groundTruthDocument(sim))}\n`);
  const order = gt.sortedOrder();
  // First columns as `optoloop optotag` reads them (unit,time_s; onset_s,offset_s), then the rest.
  const lines = ['unit,time_s,sample_index,evoked'];
  for (const i of order) lines.push(`${gt.spikeUnit[i]},${(gt.spikeSample[i] / rate).toFixed(6)},${gt.spikeSample[i]},${gt.spikeEvoked[i]}`);
  write(GROUND_TRUTH_FILES.spikes, `${lines.join('\n')}\n`);
  const units = ['unit_id,type,layer,cell_id,x_um,y_um,z_um,opsin,light_responsive,peak_channel,peak_amplitude_uv,snr,trough_to_peak_ms,rate_hz'];
  for (const u of sim.units) {
    if (u.background) continue;
    units.push([u.id, u.type, u.layer ?? '', u.cellId, round(u.xUm), round(u.yUm), round(u.zUm), u.opsin ? 1 : 0, u.lightResponsive ? 1 : 0, u.peakChannel, round(u.peakAmplitudeUv), round(u.snr), round(u.shape.troughToPeakMs, 4), round(u.firing.rateHz)].join(','));
  }
  write(GROUND_TRUTH_FILES.units, `${units.join('\n')}\n`);
  const pulses = ['onset_s,offset_s,onset_sample,offset_sample,level,output,request_id'];
  for (const p of gt.pulses) pulses.push([(p.onsetSample / rate).toFixed(6), (p.offsetSample / rate).toFixed(6), p.onsetSample, p.offsetSample, p.level, p.output, p.requestId].join(','));
  write(GROUND_TRUTH_FILES.pulses, `${pulses.join('\n')}\n`);
  return files;
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
