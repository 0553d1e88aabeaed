import type { PresetSpec } from '../cell-types.js';

/**
 * Cerebellar cortex: the five C4 classes (SOURCES.beau2025). A Purkinje cell is two units at one
 * position — its simple spikes (PkC_ss) and its complex spikes (PkC_cs) — and each complex spike
 * pauses that cell's simple spikes. Source keys refer to `sources.ts`.
 */
export const cerebellumPreset: PresetSpec = {
  name: 'cerebellum',
  description: 'Purkinje simple and complex spikes, molecular layer interneurons, Golgi cells, mossy fibres (C4 classes)',
  defaultOpsinType: 'PkC_ss',
  purkinje: {
    simpleSpikeType: 'PkC_ss',
    complexSpikeType: 'PkC_cs',
    pauseMs: [10, 25], // csPause: ~10–30 ms simple-spike pause after a complex spike
  },
  types: [
    {
      name: 'PkC_ss',
      description: 'Purkinje cell simple spikes: high, regular rate',
      // beau2025 ground-truth library proportions 69/58/27/18/30 (PkC_ss/PkC_cs/MLI/GoC/MFB); the
      // PkC_cs units are added one per PkC_ss unit, so their weight here is 0.
      weight: 69,
      layer: 'purkinje',
      waveform: {
        troughToPeakMs: [0.22, 0.27, 0.32, 0.38, 0.45], // assumption: simple spikes are narrow (beau2025 waveform examples)
        troughWidthMs: [0.05, 0.07],
        peakToTroughRatio: [0.35, 0.7],
        peakWidthMs: [0.09, 0.14],
        prePeakRatio: [0, 0.1],
        somaAmplitudeUv: [300, 700], // assumption: large somata give large spikes
        farFieldExponent: 2, // pettersenEinevoll2008
      },
      firing: {
        rateHz: [40, 55, 65, 85, 100], // zhou2014: ≈ 60 Hz (zebrin+) to ≈ 90 Hz (zebrin−) in awake mice
        refractoryMs: [2, 3], // assumption; at 40–100 Hz the ISI is 10–25 ms
        gammaShape: [6, 14], // zhou2014, arancillo2015: regular simple spikes (CV2 ≈ 0.2–0.5)
        burstProbability: [0, 0],
        burstSpikesMean: [1, 1],
        burstIsiMs: [2, 3],
        burstAmplitudeDecay: [1, 1],
        modulationDepth: [0.1, 0.3], // assumption: slow rate changes with behaviour
        modulationPeriodS: [2, 30],
      },
      light: {
        latencyMs: [1.5, 4], // scienceOptotag (ChR2 in Purkinje cells, e.g. L7-ChR2)
        jitterMs: [0.2, 1], // scienceOptotag
        reliability: [0.8, 1],
        sustainedRateHz: [80, 200], // assumption: strongly driven during long pulses
      },
    },
    {
      name: 'PkC_cs',
      description: 'Purkinje cell complex spikes: ~1 Hz, multi-peaked (spikelets)',
      weight: 0,
      layer: 'purkinje',
      waveform: {
        troughToPeakMs: [0.35, 0.45, 0.5, 0.6, 0.7], // assumption: the initial spike is broader than a simple spike
        troughWidthMs: [0.07, 0.1],
        peakToTroughRatio: [0.3, 0.6],
        peakWidthMs: [0.2, 0.35],
        prePeakRatio: [0, 0.1],
        spikelets: {
          count: [2, 5], // warnaar2015: 1–5 spikelets typical
          intervalMs: [1.5, 2.8], // warnaar2015: CS lasts up to ~10 ms
          decay: [0.55, 0.8],
          slowWaveRatio: [0.1, 0.3], // assumption: dendritic calcium component
        },
        somaAmplitudeUv: [300, 700],
        farFieldExponent: 2,
      },
      firing: {
        rateHz: [0.5, 0.8, 1, 1.3, 2], // zhou2014, arancillo2015: ≈ 1 Hz
        refractoryMs: [40, 80], // assumption: olivary spikes rarely come closer than tens of ms
        gammaShape: [1, 1.5], // irregular, near-Poisson
        burstProbability: [0, 0],
        burstSpikesMean: [1, 1],
        burstIsiMs: [2, 3],
        burstAmplitudeDecay: [1, 1],
        modulationDepth: [0, 0.2],
        modulationPeriodS: [5, 60],
      },
      light: { latencyMs: [2, 4], jitterMs: [0.5, 1], reliability: [0, 0], sustainedRateHz: [0, 0] }, // climbing-fibre driven: no direct light response
    },
    {
      name: 'MLI',
      description: 'Molecular layer interneuron (basket / stellate): irregular, narrow spike',
      weight: 27,
      layer: 'molecular',
      waveform: {
        troughToPeakMs: [0.2, 0.25, 0.3, 0.35, 0.42], // assumption: narrow interneuron spike
        troughWidthMs: [0.05, 0.07],
        peakToTroughRatio: [0.4, 0.8],
        peakWidthMs: [0.08, 0.13],
        prePeakRatio: [0, 0.08],
        somaAmplitudeUv: [100, 300], // assumption: small somata
        farFieldExponent: 2,
      },
      firing: {
        rateHz: [5, 10, 15, 22, 35], // ruigrok2011: irregular, some very slow; assumption for the awake range
        refractoryMs: [1.5, 2.5],
        gammaShape: [0.7, 1.3], // ruigrok2011: irregular firing (CV near 1)
        burstProbability: [0, 0.03],
        burstSpikesMean: [1, 1.5],
        burstIsiMs: [2, 5],
        burstAmplitudeDecay: [0.95, 1],
        modulationDepth: [0.2, 0.5],
        modulationPeriodS: [2, 30],
      },
      light: { latencyMs: [1.5, 5], jitterMs: [0.3, 1.5], reliability: [0.6, 0.95], sustainedRateHz: [40, 100] }, // scienceOptotag
    },
    {
      name: 'GoC',
      description: 'Golgi cell: slow, somewhat irregular, broad spike',
      weight: 18,
      layer: 'granular',
      waveform: {
        troughToPeakMs: [0.45, 0.55, 0.62, 0.7, 0.85], // assumption: broad somatic spike
        troughWidthMs: [0.08, 0.12],
        peakToTroughRatio: [0.2, 0.4],
        peakWidthMs: [0.2, 0.35],
        prePeakRatio: [0, 0.05],
        somaAmplitudeUv: [200, 500],
        farFieldExponent: 2,
      },
      firing: {
        rateHz: [3, 6, 8.4, 11, 18], // vos1999: 8.4 spikes/s at rest (median set to it)
        refractoryMs: [3, 5], // assumption
        gammaShape: [2, 4], // vos1999 'slow rhythm', ruigrok2011 'somewhat irregular': CV ≈ 0.5–0.7
        burstProbability: [0, 0.02],
        burstSpikesMean: [1, 1.5],
        burstIsiMs: [3, 6],
        burstAmplitudeDecay: [0.95, 1],
        modulationDepth: [0.2, 0.5],
        modulationPeriodS: [2, 30],
      },
      light: { latencyMs: [2, 6], jitterMs: [0.5, 2], reliability: [0.6, 0.95], sustainedRateHz: [20, 50] }, // scienceOptotag
    },
    {
      name: 'MFB',
      description: 'Mossy fibre bouton: narrow triphasic axonal spike, high-frequency bursts',
      weight: 30,
      layer: 'granular',
      waveform: {
        troughToPeakMs: [0.12, 0.15, 0.18, 0.21, 0.26], // beau2025: narrow triphasic axonal spikes; values assumption
        troughWidthMs: [0.035, 0.05],
        peakToTroughRatio: [0.4, 0.8],
        peakWidthMs: [0.05, 0.08],
        prePeakRatio: [0.3, 0.7], // triphasic: a positive phase before the trough
        somaAmplitudeUv: [120, 300],
        farFieldExponent: 3, // axonal terminal: steeper fall-off (pettersenEinevoll2008 far field ≥ 1/r²)
      },
      firing: {
        rateHz: [15, 30, 45, 70, 110], // assumption for the tonic rate; rancz2007 for the bursts below
        refractoryMs: [0.8, 1.2], // axons recover fast
        gammaShape: [0.6, 1.2], // irregular
        burstProbability: [0.1, 0.3],
        burstSpikesMean: [2, 4],
        burstIsiMs: [1.4, 3], // rancz2007: instantaneous rates of several hundred Hz
        burstAmplitudeDecay: [0.97, 1], // axonal spikes barely attenuate
        modulationDepth: [0.3, 0.6],
        modulationPeriodS: [1, 20],
      },
      light: { latencyMs: [1.5, 4], jitterMs: [0.2, 1], reliability: [0.6, 0.95], sustainedRateHz: [50, 150] }, // scienceOptotag
    },
  ],
};
