/**
 * Places a population of units around a probe: each with a cell type, a 3-D position, an opsin
 * flag, a multi-channel template whose amplitude follows `spatial.ts`, firing parameters drawn
 * from its type's published ranges, and a light response. Set-up code: runs once per simulation.
 */
import type { ChannelLayout } from '../src/probe/channel-layout.js';
import { OptoloopError } from '../src/core/errors.js';
import { drawQuantiles, type CellTypeSpec, type PresetSpec, type Range } from './cell-types.js';
import { Rng } from './rng.js';
import { amplitudeFactor, distanceForFactor, widthScale, type DecayModel } from './spatial.js';
import { drawShape, renderWaveform, samplesBeforeFor, templateLengthFor, type WaveformShape } from './waveform.js';

export interface UnitFiring {
  readonly rateHz: number;
  readonly refractoryMs: number;
  readonly gammaShape: number;
  /** Recovering-hazard time constant (ms), or 0 for gamma ISIs. */
  readonly recoveryTauMs: number;
  readonly burstProbability: number;
  readonly burstSpikesMean: number;
  readonly burstIsiMs: number;
  readonly burstAmplitudeDecay: number;
  readonly modulationDepth: number;
  readonly modulationPeriodS: number;
  readonly modulationPhase: number;
  readonly fluctuationSd: number;
  readonly fluctuationTimeConstantS: number;
}

export interface UnitLight {
  readonly latencyMs: number;
  readonly jitterMs: number;
  readonly reliability: number;
  readonly sustainedRateHz: number;
}

export interface SimUnit {
  readonly id: number;
  readonly type: string;
  readonly layer: string | null;
  /** Purkinje cell index shared by a PkC_ss and its PkC_cs unit; −1 otherwise. */
  readonly cellId: number;
  readonly background: boolean;
  readonly xUm: number;
  readonly yUm: number;
  /** Distance from the probe plane. */
  readonly zUm: number;
  readonly shank: number;
  readonly opsin: boolean;
  /** True when light drives this unit (opsin and a light-driven spike type). */
  readonly lightResponsive: boolean;
  /** Amplitude at the soma-size floor distance (µV). */
  readonly somaAmplitudeUv: number;
  readonly farFieldExponent: number;
  /** Peak channel at rest (no drift) and its peak amplitude / σ. */
  readonly peakChannel: number;
  readonly peakAmplitudeUv: number;
  readonly snr: number;
  readonly shape: WaveformShape;
  readonly firing: UnitFiring;
  readonly light: UnitLight;
  /** Channels the template covers, nearest first. */
  readonly channels: Int32Array;
  /** Normalised waveform per channel (trough −1 on each), channels.length × templateLength. */
  readonly template: Float32Array;
  readonly templateLength: number;
  readonly samplesBefore: number;
}

export interface PopulationOptions {
  readonly preset: PresetSpec;
  readonly layout: ChannelLayout;
  readonly sampleRateHz: number;
  readonly seed: number;
  readonly unitCount: number;
  /** Types whose cells express the opsin. */
  readonly opsinTypes: readonly string[];
  /** Fraction of those cells that express it. */
  readonly opsinFraction: number;
  /** Target SNR (peak amplitude / noise σ) of each unit, drawn log-uniformly. */
  readonly snrRange: Range;
  readonly noiseUv: Float32Array;
  readonly decay: DecayModel;
  /** Background (multi-unit) units per channel. */
  readonly backgroundPerChannel: number;
  readonly backgroundSnrRange: Range;
  /** Largest probe displacement the drift model can produce (µm): footprints cover it. */
  readonly maxDriftUm: number;
  /** Channels whose amplitude stays below this fraction of σ are left out of a template. */
  readonly footprintFloorSigma: number;
  readonly maxFootprintChannels: number;
  /** The same for background units: their far channels are lost in the noise anyway. */
  readonly backgroundFootprintFloorSigma: number;
  readonly backgroundMaxFootprintChannels: number;
}

const STAGE = 'sim.population';

function drawRange(rng: Rng, range: Range): number {
  return rng.range(range[0], range[1]);
}

export function buildPopulation(options: PopulationOptions): SimUnit[] {
  const { preset, layout } = options;
  const rng = new Rng(options.seed, 'population');
  const typeByName = new Map(preset.types.map((t) => [t.name, t]));
  for (const name of options.opsinTypes) {
    if (!typeByName.has(name)) {
      throw new OptoloopError('E_OPTIONS_INVALID', `sim: opsin type "${name}" is not in preset ${preset.name}; expected one of ${[...typeByName.keys()].join(', ')}`, { stage: STAGE });
    }
  }
  const cells = allocateCells(preset, options.unitCount, rng);
  const units: SimUnit[] = [];
  let cellCounter = 0;
  for (const type of cells) {
    const opsin = options.opsinTypes.includes(type.name) && rng.bernoulli(options.opsinFraction);
    const unit = placeUnit(units.length, type, -1, opsin, null, rng, options, false);
    if (preset.purkinje && type.name === preset.purkinje.simpleSpikeType) {
      const cellId = cellCounter++;
      const ss = { ...unit, cellId };
      units.push(ss);
      const csType = typeByName.get(preset.purkinje.complexSpikeType)!;
      units.push(placeUnit(units.length, csType, cellId, opsin, ss, rng, options, false));
    } else {
      units.push(unit);
    }
  }
  const backgroundCount = Math.round(options.backgroundPerChannel * layout.channelCount);
  const bgTypes = preset.types.filter((t) => t.weight > 0);
  for (let i = 0; i < backgroundCount; i++) {
    const type = bgTypes[rng.int(bgTypes.length)];
    units.push(placeUnit(units.length, type, -1, false, null, rng, options, true));
  }
  return units;
}

/** The cell types of the units, in proportion to the preset's weights (a Purkinje cell is two units). */
function allocateCells(preset: PresetSpec, unitCount: number, rng: Rng): CellTypeSpec[] {
  const weighted = preset.types.filter((t) => t.weight > 0);
  const unitsPerCell = (t: CellTypeSpec) => (preset.purkinje && t.name === preset.purkinje.simpleSpikeType ? 2 : 1);
  const totalWeight = weighted.reduce((s, t) => s + t.weight * unitsPerCell(t), 0);
  const cells: CellTypeSpec[] = [];
  let unitsLeft = unitCount;
  // Largest-remainder apportionment, then a seeded shuffle so that placement order mixes types.
  const exact = weighted.map((t) => (unitCount * t.weight * unitsPerCell(t)) / totalWeight / unitsPerCell(t));
  const counts = exact.map(Math.floor);
  unitsLeft -= counts.reduce((s, c, i) => s + c * unitsPerCell(weighted[i]), 0);
  const order = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (unitsLeft >= unitsPerCell(weighted[i])) {
      counts[i]++;
      unitsLeft -= unitsPerCell(weighted[i]);
    }
  }
  weighted.forEach((t, i) => {
    for (let k = 0; k < counts[i]; k++) cells.push(t);
  });
  for (let i = cells.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [cells[i], cells[j]] = [cells[j], cells[i]];
  }
  return cells;
}

function placeUnit(
  id: number,
  type: CellTypeSpec,
  cellId: number,
  opsin: boolean,
  sharePositionWith: SimUnit | null,
  rng: Rng,
  options: PopulationOptions,
  background: boolean,
): SimUnit {
  const { layout, noiseUv, decay, sampleRateHz } = options;
  const shape = drawShape(type.waveform, rng);
  const firing = drawFiring(type, rng);
  const light: UnitLight = {
    latencyMs: drawRange(rng, type.light.latencyMs),
    jitterMs: drawRange(rng, type.light.jitterMs),
    reliability: drawRange(rng, type.light.reliability),
    sustainedRateHz: drawRange(rng, type.light.sustainedRateHz),
  };
  const exponent = type.waveform.farFieldExponent;
  let somaAmplitudeUv = drawRange(rng, type.waveform.somaAmplitudeUv);
  let x: number;
  let y: number;
  let z: number;
  let shank: number;
  const snrTarget = rng.logRange(...(background ? options.backgroundSnrRange : options.snrRange));
  if (sharePositionWith) {
    ({ xUm: x, yUm: y, zUm: z, shank } = sharePositionWith);
  } else {
    // Anchor on a random channel, offset in the plane by up to a site pitch, then set the depth
    // from the probe plane so that the anchor's amplitude gives the target SNR.
    const anchor = rng.int(layout.channelCount);
    shank = layout.shank[anchor];
    const dx = rng.range(-20, 20);
    const dy = rng.range(-20, 20);
    x = layout.xUm[anchor] + dx;
    y = layout.yUm[anchor] + dy;
    const factor = (snrTarget * noiseUv[anchor]) / somaAmplitudeUv;
    let r = distanceForFactor(Math.min(1, factor), exponent, decay);
    if (background) r = Math.max(r, 60);
    const inPlane = Math.hypot(dx, dy);
    z = Math.sqrt(Math.max(r * r - inPlane * inPlane, decay.somaRadiusUm * decay.somaRadiusUm));
  }
  // Distances to every channel of the unit's shank; the footprint is the nearest that matter.
  const candidates: { channel: number; r: number }[] = [];
  for (let c = 0; c < layout.channelCount; c++) {
    if (layout.shank[c] !== shank) continue;
    candidates.push({ channel: c, r: Math.hypot(layout.xUm[c] - x, layout.yUm[c] - y, z) });
  }
  candidates.sort((a, b) => a.r - b.r || a.channel - b.channel);
  const peak = candidates[0];
  if (!sharePositionWith) {
    // Exact SNR on the actual peak channel (another site may be nearer than the anchor).
    somaAmplitudeUv = (snrTarget * noiseUv[peak.channel]) / amplitudeFactor(peak.r, exponent, decay);
  }
  const peakAmplitudeUv = somaAmplitudeUv * amplitudeFactor(peak.r, exponent, decay);
  const floorUv = background ? options.backgroundFootprintFloorSigma : options.footprintFloorSigma;
  const maxFootprint = background ? options.backgroundMaxFootprintChannels : options.maxFootprintChannels;
  const footprint: { channel: number; r: number }[] = [];
  for (const cand of candidates) {
    if (footprint.length >= maxFootprint) break;
    // Cover drift: judge a channel by its amplitude at its closest possible approach.
    const closest = Math.max(decay.somaRadiusUm, cand.r - options.maxDriftUm);
    if (somaAmplitudeUv * amplitudeFactor(closest, exponent, decay) < floorUv * noiseUv[cand.channel] && footprint.length > 0) continue;
    footprint.push(cand);
  }
  const templateLength = templateLengthFor(shape, sampleRateHz);
  const template = new Float32Array(footprint.length * templateLength);
  const row = new Float32Array(templateLength);
  footprint.forEach((f, k) => {
    renderWaveform(shape, widthScale(f.r, decay), sampleRateHz, row, templateLength);
    template.set(row, k * templateLength);
  });
  const lightDriven = type.light.reliability[1] > 0;
  return {
    id,
    type: type.name,
    layer: type.layer,
    cellId,
    background,
    xUm: x,
    yUm: y,
    zUm: z,
    shank,
    opsin,
    lightResponsive: opsin && lightDriven,
    somaAmplitudeUv,
    farFieldExponent: exponent,
    peakChannel: peak.channel,
    peakAmplitudeUv,
    snr: peakAmplitudeUv / noiseUv[peak.channel],
    shape,
    firing,
    light,
    channels: Int32Array.from(footprint, (f) => f.channel),
    template,
    templateLength,
    samplesBefore: samplesBeforeFor(sampleRateHz),
  };
}

function drawFiring(type: CellTypeSpec, rng: Rng): UnitFiring {
  const f = type.firing;
  return {
    rateHz: drawQuantiles(f.rateHz, rng.uniform()),
    refractoryMs: drawRange(rng, f.refractoryMs),
    gammaShape: drawRange(rng, f.gammaShape),
    recoveryTauMs: f.recoveryTauMs ? drawQuantiles(f.recoveryTauMs, rng.uniform()) : 0,
    burstProbability: drawRange(rng, f.burstProbability),
    burstSpikesMean: drawRange(rng, f.burstSpikesMean),
    burstIsiMs: drawRange(rng, f.burstIsiMs),
    burstAmplitudeDecay: drawRange(rng, f.burstAmplitudeDecay),
    modulationDepth: drawRange(rng, f.modulationDepth),
    modulationPeriodS: drawRange(rng, f.modulationPeriodS),
    modulationPhase: rng.range(0, 2 * Math.PI),
    fluctuationSd: f.fluctuationSd ? drawRange(rng, f.fluctuationSd) : 0,
    fluctuationTimeConstantS: f.fluctuationTimeConstantS ? drawRange(rng, f.fluctuationTimeConstantS) : 1,
  };
}
