/**
 * A Kilosort / phy output folder, read for online template matching: templates.npy
 * [templates, time, channels], channel_map.npy (recording channel of each template column),
 * channel_positions.npy, spike_templates.npy, optionally spike_clusters.npy (the clusters after
 * curation in phy), cluster_group.tsv (good / mua / noise / unsorted), whitening_mat_inv.npy and
 * params.py (sample_rate).
 *
 * Whitening: Kilosort 2–3 store templates in the whitened space they sorted in; the snippets we
 * match are plain filtered µV. When whitening_mat_inv.npy is there, each template is unwhitened
 * (template[t] · W⁻¹, as phy does to show them) before use. The templates' scale stays arbitrary
 * (Kilosort keeps per-spike amplitudes apart), so matching fits the scale freely; only shape and
 * footprint decide.
 *
 * Units: without spike_clusters.npy each template is a unit (cluster id = template id). With it,
 * a template belongs to the cluster that holds most of its spikes, so a cluster merged in phy
 * keeps all its templates; a cluster split in phy from one template keeps only the majority part
 * (there is no template for the other). Clusters labelled noise in cluster_group.tsv are excluded:
 * their templates stay in the bank as absorbers, so that a noise-like spike matches them and is
 * assigned −1 instead of the nearest good unit.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OptoloopError } from '../../core/errors.js';
import { npyToFloat64, readNpy, type NpyArray } from '../../io/npy.js';

export interface KilosortTemplate {
  readonly templateId: number;
  /** The unit (cluster id) the template stands for; −1 for a noise cluster's template. */
  readonly unitId: number;
  readonly group: string;
  /** Recording channels of the kept rows, largest energy first. */
  readonly channels: Int32Array;
  /** rows × time, unwhitened. */
  readonly waveforms: Float32Array;
  readonly length: number;
  /** Sample of the trough (largest |v|) on the peak channel. */
  readonly alignIndex: number;
  readonly peakChannel: number;
  readonly spikeCount: number;
}

export interface KilosortFolder {
  readonly directory: string;
  readonly templates: readonly KilosortTemplate[];
  readonly sampleRateHz: number | null;
  readonly whitened: boolean;
  /** Units (cluster ids) that are not noise, with their group. */
  readonly units: ReadonlyMap<number, string>;
  readonly excludedNoiseClusters: readonly number[];
  /** Highest recording channel the templates use + 1. */
  readonly channelsNeeded: number;
}

const STAGE = 'classify.kilosort';

function malformed(file: string, message: string, field?: string): OptoloopError {
  return new OptoloopError('E_FILE_MALFORMED', `${file}: ${message}`, { stage: STAGE, details: { file, field } });
}

function read(dir: string, name: string, required: true): NpyArray;
function read(dir: string, name: string, required: false): NpyArray | null;
function read(dir: string, name: string, required: boolean): NpyArray | null {
  const path = join(dir, name);
  if (!existsSync(path)) {
    if (!required) return null;
    throw new OptoloopError('E_FILE_NOT_FOUND', `${path}: missing; expected a Kilosort / phy output folder with templates.npy, channel_map.npy, channel_positions.npy and spike_templates.npy`, {
      stage: STAGE,
      details: { file: path },
    });
  }
  return readNpy(path);
}

/** A 1-D integer vector, accepting the [n] and [n, 1] / [1, n] shapes Kilosort writes. */
function vector(array: NpyArray, file: string): Float64Array {
  const nonUnit = array.shape.filter((d) => d !== 1);
  if (nonUnit.length > 1) throw malformed(file, `expected a vector, got shape [${array.shape.join(', ')}]`, 'shape');
  return npyToFloat64(array.data);
}

/** cluster_group.tsv (or cluster_KSLabel.tsv): "cluster_id<TAB>group" with a header line. */
export function readClusterGroups(path: string): Map<number, string> {
  const groups = new Map<number, string>();
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  const header = lines[0]?.split('\t').map((s) => s.trim()) ?? [];
  const idColumn = header.indexOf('cluster_id');
  const groupColumn = header.findIndex((h) => h === 'group' || h === 'KSLabel');
  if (idColumn < 0 || groupColumn < 0) throw malformed(path, `line 1: expected a header with cluster_id and group (tab-separated), got ${JSON.stringify(lines[0] ?? '')}`, 'header');
  for (let i = 1; i < lines.length; i++) {
    if (!lines[i].trim()) continue;
    const cells = lines[i].split('\t');
    const id = Number(cells[idColumn]);
    const group = (cells[groupColumn] ?? '').trim();
    if (!Number.isInteger(id) || id < 0) throw malformed(path, `line ${i + 1}: expected a cluster id (integer ≥ 0), got ${JSON.stringify(cells[idColumn])}`, 'cluster_id');
    groups.set(id, group || 'unsorted');
  }
  return groups;
}

/** sample_rate from params.py, or null. */
function readSampleRate(dir: string): number | null {
  const path = join(dir, 'params.py');
  if (!existsSync(path)) return null;
  const m = /^\s*sample_rate\s*=\s*([\d.eE+-]+)/m.exec(readFileSync(path, 'utf8'));
  const rate = m ? Number(m[1]) : NaN;
  return Number.isFinite(rate) && rate > 0 ? rate : null;
}

export interface ReadKilosortOptions {
  /** Rows kept per template: its channels of largest energy (default 12). */
  readonly maxRows?: number;
  /** Rows whose peak-to-peak is below this fraction of the peak channel's are dropped (default 0.05). */
  readonly minRowFraction?: number;
}

export function readKilosortFolder(directory: string, options: ReadKilosortOptions = {}): KilosortFolder {
  const maxRows = options.maxRows ?? 12;
  const minRowFraction = options.minRowFraction ?? 0.05;
  const templatesNpy = read(directory, 'templates.npy', true);
  const tFile = join(directory, 'templates.npy');
  if (templatesNpy.shape.length !== 3) throw malformed(tFile, `expected shape [templates, time, channels], got [${templatesNpy.shape.join(', ')}]`, 'shape');
  const [nTemplates, nTime, nCols] = templatesNpy.shape;
  const templates = npyToFloat64(templatesNpy.data);
  const channelMap = vector(read(directory, 'channel_map.npy', true), join(directory, 'channel_map.npy'));
  if (channelMap.length !== nCols) throw malformed(join(directory, 'channel_map.npy'), `expected ${nCols} channels (templates.npy has ${nCols} columns), got ${channelMap.length}`, 'shape');
  for (let c = 0; c < nCols; c++) {
    if (!Number.isInteger(channelMap[c]) || channelMap[c] < 0) throw malformed(join(directory, 'channel_map.npy'), `entry ${c}: expected a channel index ≥ 0, got ${channelMap[c]}`, `channel_map[${c}]`);
  }
  const positions = read(directory, 'channel_positions.npy', true);
  if (positions.shape[0] !== nCols) throw malformed(join(directory, 'channel_positions.npy'), `expected ${nCols} rows of [x, y], got shape [${positions.shape.join(', ')}]`, 'shape');
  const spikeTemplates = vector(read(directory, 'spike_templates.npy', true), join(directory, 'spike_templates.npy'));
  const spikeClustersNpy = read(directory, 'spike_clusters.npy', false);
  const spikeClusters = spikeClustersNpy ? vector(spikeClustersNpy, join(directory, 'spike_clusters.npy')) : null;
  if (spikeClusters && spikeClusters.length !== spikeTemplates.length) {
    throw malformed(join(directory, 'spike_clusters.npy'), `expected ${spikeTemplates.length} entries (one per spike, as spike_templates.npy), got ${spikeClusters.length}`, 'shape');
  }
  const winvNpy = read(directory, 'whitening_mat_inv.npy', false);
  let winv: Float64Array | null = null;
  if (winvNpy) {
    if (winvNpy.shape.length !== 2 || winvNpy.shape[0] !== nCols || winvNpy.shape[1] !== nCols) {
      throw malformed(join(directory, 'whitening_mat_inv.npy'), `expected shape [${nCols}, ${nCols}], got [${winvNpy.shape.join(', ')}]`, 'shape');
    }
    winv = npyToFloat64(winvNpy.data);
  }
  const groupsPath = [join(directory, 'cluster_group.tsv'), join(directory, 'cluster_KSLabel.tsv')].find(existsSync);
  const groups = groupsPath ? readClusterGroups(groupsPath) : new Map<number, string>();

  // Spikes per template, and the cluster holding most of each template's spikes.
  const spikesOf = new Float64Array(nTemplates);
  const clusterVotes = new Map<number, Map<number, number>>();
  for (let i = 0; i < spikeTemplates.length; i++) {
    const t = spikeTemplates[i];
    if (!Number.isInteger(t) || t < 0 || t >= nTemplates) {
      throw malformed(join(directory, 'spike_templates.npy'), `spike ${i}: expected a template index 0…${nTemplates - 1}, got ${t}`, `spike_templates[${i}]`);
    }
    spikesOf[t]++;
    if (spikeClusters) {
      let votes = clusterVotes.get(t);
      if (!votes) clusterVotes.set(t, (votes = new Map()));
      votes.set(spikeClusters[i], (votes.get(spikeClusters[i]) ?? 0) + 1);
    }
  }
  const out: KilosortTemplate[] = [];
  const units = new Map<number, string>();
  const noise = new Set<number>();
  let channelsNeeded = 0;
  const unwhitened = new Float64Array(nTime * nCols);
  for (let t = 0; t < nTemplates; t++) {
    if (spikesOf[t] === 0) continue;
    let cluster = t;
    if (spikeClusters) {
      let best = -1;
      for (const [c, n] of clusterVotes.get(t)!) if (best < 0 || n > clusterVotes.get(t)!.get(best)! || (n === clusterVotes.get(t)!.get(best)! && c < best)) best = c;
      cluster = best;
    }
    const group = groups.get(cluster) ?? 'unsorted';
    const base = t * nTime * nCols;
    for (let i = 0; i < nTime; i++) {
      for (let c = 0; c < nCols; c++) {
        if (!winv) {
          unwhitened[i * nCols + c] = templates[base + i * nCols + c];
          continue;
        }
        let v = 0;
        for (let j = 0; j < nCols; j++) v += templates[base + i * nCols + j] * winv[j * nCols + c];
        unwhitened[i * nCols + c] = v;
      }
    }
    // Peak-to-peak and energy per column.
    const ptp = new Float64Array(nCols);
    const energy = new Float64Array(nCols);
    for (let c = 0; c < nCols; c++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < nTime; i++) {
        const v = unwhitened[i * nCols + c];
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
        energy[c] += v * v;
      }
      ptp[c] = hi - lo;
    }
    let peak = 0;
    for (let c = 1; c < nCols; c++) if (ptp[c] > ptp[peak]) peak = c;
    if (!(ptp[peak] > 0)) continue;
    const order = Array.from({ length: nCols }, (_, c) => c)
      .filter((c) => ptp[c] >= minRowFraction * ptp[peak])
      .sort((a, b) => energy[b] - energy[a] || a - b)
      .slice(0, maxRows);
    let align = 0;
    for (let i = 1; i < nTime; i++) if (Math.abs(unwhitened[i * nCols + peak]) > Math.abs(unwhitened[align * nCols + peak])) align = i;
    const waveforms = new Float32Array(order.length * nTime);
    order.forEach((c, r) => {
      for (let i = 0; i < nTime; i++) waveforms[r * nTime + i] = unwhitened[i * nCols + c];
    });
    const channels = Int32Array.from(order, (c) => channelMap[c]);
    for (const ch of channels) channelsNeeded = Math.max(channelsNeeded, ch + 1);
    const isNoise = group === 'noise';
    if (isNoise) noise.add(cluster);
    else units.set(cluster, group);
    out.push({ templateId: t, unitId: isNoise ? -1 : cluster, group, channels, waveforms, length: nTime, alignIndex: align, peakChannel: channelMap[peak], spikeCount: spikesOf[t] });
  }
  if (out.length === 0) throw malformed(tFile, 'no template with spikes and a non-flat waveform', 'templates');
  return {
    directory,
    templates: out,
    sampleRateHz: readSampleRate(directory),
    whitened: winv !== null,
    units,
    excludedNoiseClusters: [...noise].sort((a, b) => a - b),
    channelsNeeded,
  };
}
