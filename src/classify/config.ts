/**
 * The rig config's `classifier` section: how spikes become units (a Kilosort/phy folder to match
 * against, or online clustering), what is kept per unit, and which model names cell types when.
 */
import * as s from '../config/schema.js';
import { DEFAULT_ONLINE_CLUSTER_OPTIONS as C } from './units/online-clusterer.js';

export const assignmentSchema = s.object(
  {
    candidateRadiusUm: s.number({ above: 0, default: C.candidateRadiusUm, description: 'A spike is compared with the templates whose peak lies within this distance of its peak channel.' }),
    windowBeforeMs: s.number({ above: 0, default: 1 / 3, description: 'Matching window before the trough.' }),
    windowAfterMs: s.number({ above: 0, default: 0.8, description: 'Matching window after the trough.' }),
    maxShiftSamples: s.number({ integer: true, min: 0, max: 8, default: C.maxShiftSamples, description: 'Alignment shifts tried around the detected trough.' }),
    maxExcessSigma: s.number({ default: C.maxExcessSigma, description: 'Residual allowed above the noise, in SDs of a χ² over the compared samples; above it a spike matches no template (−1, or a new template when clustering).' }),
    maxTemplateError: s.number({ min: 0, default: C.maxTemplateError, description: 'Residual allowed as a fraction of the fitted template’s energy (drift, amplitude changes).' }),
  },
  { description: 'Template matching, used against Kilosort templates and by the online clustering.' },
);

export const clusteringSchema = s.object(
  {
    maxUnits: s.number({ integer: true, min: 1, max: 8192, default: C.maxUnits, description: 'Units kept at most (memory is reserved for them at start).' }),
    maxProvisional: s.number({ integer: true, min: 1, max: 8192, default: C.maxProvisional, description: 'Provisional templates (not yet units) kept at most.' }),
    maxRows: s.number({ integer: true, min: 1, max: 64, default: C.maxRows, description: 'Channels per template.' }),
    halfSampleShifts: s.boolean({ default: C.halfSampleShifts, description: 'Also match at shifts half-way between samples (the template interpolated, ⅔ more work per spike); off: on the simulated cerebellum it made no measurable difference.' }),
    promoteSpikes: s.number({ integer: true, min: 1, default: C.promoteSpikes, description: 'Spikes a provisional template needs to become a unit with an id.' }),
    provisionalLifetimeS: s.number({ above: 0, default: C.provisionalLifetimeS, description: 'A provisional template that nothing joins for this long is dropped.' }),
    templateMemorySpikes: s.number({ integer: true, min: 1, default: C.templateMemorySpikes, description: 'Templates follow drift: the newest spike weighs at least 1/this.' }),
    mergeRadiusUm: s.number({ min: 0, default: C.mergeRadiusUm, description: 'Units whose peaks are this close are tested for a merge.' }),
    mergeMaxChi2: s.number({ default: C.mergeMaxChi2, description: 'Merge when the noise-corrected χ² distance of two templates is below this (6 ≈ single spikes confused 11 % of the time; a large negative value disables merges).' }),
    mergeMaxRelative: s.number({ min: 0, default: C.mergeMaxRelative, description: 'Merge also when the templates differ by less than this fraction of the smaller one’s energy: large units’ templates differ by far more than the noise (amplitude states, overlaps, sub-sample timing) yet describe one neuron; 0 merges on the χ² alone.' }),
    mergeMaxShiftSamples: s.number({ integer: true, min: 0, max: 16, default: C.mergeMaxShiftSamples, description: 'Alignments (± samples) tried when comparing two templates for a merge.' }),
    retireAfterS: s.number({ above: 0, default: C.retireAfterS, description: 'A unit with fewer than retireBelowSpikes spikes this long after it was made is dropped (its id is not reused).' }),
    retireBelowSpikes: s.number({ integer: true, min: 0, default: C.retireBelowSpikes }),
    splitEveryS: s.number({ above: 0, default: C.splitEveryS, description: 'How often each unit is tested for a split.' }),
    splitSpikes: s.number({ integer: true, min: 20, max: 1000, default: C.splitSpikes, description: 'Recent spikes per unit kept for the split test.' }),
    splitRows: s.number({ integer: true, min: 1, max: 16, default: C.splitRows, description: 'Channels per spike kept for the split test.' }),
    splitMinDprime: s.number({ above: 0, default: C.splitMinDprime, description: 'Split when two groups are this far apart along the first principal component (d′).' }),
    splitMinFraction: s.number({ above: 0, max: 0.5, default: C.splitMinFraction, description: 'The smaller group must hold at least this fraction of the spikes.' }),
    resolveOverlaps: s.boolean({ default: C.resolveOverlaps, description: 'A spike that matches no template is tried as two overlapping spikes (a neighbour’s spike within overlapMaxOffsetMs subtracted, the rest matched again): the near-synchronous light-evoked spikes of neighbouring opsin cells otherwise go unassigned.' }),
    overlapMaxOffsetMs: s.number({ min: 0, max: 2, default: C.overlapMaxOffsetMs, description: 'How far before or after the detected trough the overlapping spike is searched.' }),
    recoverOverlaps: s.boolean({ default: C.recoverOverlaps, description: 'Report the spikes peeled from a resolved overlap that the detector could not have reported (within detect.radiusUm and from detect.peakWindowMs before to detect.refractoryMs after a detected spike), with their units: appended to the spike batch after the detected spikes.' }),
    overlapMaxPerBatch: s.number({ integer: true, min: 0, max: 4096, default: C.overlapMaxPerBatch, description: 'Overlap resolutions tried per spike batch at most (bounded work per block); the rest stay unassigned.' }),
  },
  { description: 'Online clustering from a cold start (when no templates folder is given).' },
);

export const reclassifySchema = s.object(
  {
    minSpikes: s.nullable(s.number({ integer: true, min: 2 }), { description: 'Spikes before the first classification; null takes the model’s (100 for the shipped models, as C4).' }),
    growthFactor: s.number({ above: 1, default: 2, description: 'Classify again each time the spike count has grown by this factor (100, 200, 400 …).' }),
    everyS: s.number({ above: 0, default: 30, description: 'Also classify again every this many seconds of stream time while the unit fires.' }),
    maxInFlight: s.number({ integer: true, min: 1, max: 1024, default: 32, description: 'Requests outstanding in the worker at most.' }),
    maxPerTick: s.number({
      integer: true,
      min: 1,
      max: 1024,
      default: 8,
      description: 'Requests posted per maintenance pass at most: gathering a unit’s features runs on the block path, so a burst of requests would delay the next blocks.',
    }),
  },
  { description: 'When units are (re)classified.' },
);

export const layerRangeSchema = s.object({
  name: s.string({ minLength: 1, description: 'Layer name as the model knows it (e.g. granular, purkinje, molecular).' }),
  fromUm: s.number({ description: 'Contact depth range start (probe y, µm), inclusive.' }),
  toUm: s.number({ description: 'Range end, exclusive.' }),
});

export const classifierConfigSchema = s.object(
  {
    enabled: s.boolean({ default: true, description: 'Assign units and compute their features (and classify them when a model is set).' }),
    model: s.nullable(s.string({ minLength: 1 }), { description: 'A shipped model by name (cerebellum, cortex) or a model folder; null: units and features only, no cell types.' }),
    backend: s.oneOf(['auto', 'wasm', 'cpu', 'node-gpu'] as const, { default: 'auto', description: 'TensorFlow.js backend: auto takes tfjs-node-gpu when installed, else wasm, else cpu.' }),
    abstainBelowRatio: s.nullable(s.number({ min: 1 }), { description: 'No label below this confidence ratio (top / second probability); null takes the model’s (2, as C4).' }),
    reclassify: reclassifySchema,
    templates: s.nullable(s.string({ minLength: 1 }), { description: 'A Kilosort / phy output folder to match spikes against; null clusters online from a cold start.' }),
    assignment: assignmentSchema,
    clustering: clusteringSchema,
    maxSpikes: s.number({ integer: true, min: 100, default: 20000, description: 'Spike times kept per unit (the most recent), for the 3D-ACG.' }),
    acgMaxLagMs: s.number({ integer: true, min: 1, max: 1000, default: 100, description: 'Longest lag of the per-unit ACG shown on the bus.' }),
    isiMaxMs: s.number({ integer: true, min: 1, max: 10000, default: 100, description: 'Longest ISI histogram bin (1 ms bins, plus one for longer).' }),
    layers: s.array(layerRangeSchema, { default: [], description: 'Depth ranges → layer names, a model input where the model has one (C4: granular, purkinje, molecular).' }),
    maintenanceIntervalS: s.number({ above: 0, default: 0.25, description: 'Classification scheduling runs this often (stream time), and online clustering’s merges, splits and upkeep sweep every unit once in this time, a slice per block.' }),
  },
  { description: 'Units, per-unit features and cell-type classification.' },
);

export type ClassifierConfig = s.Infer<typeof classifierConfigSchema>;
