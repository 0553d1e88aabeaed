import type { PresetSpec } from '../cell-types.js';

/**
 * Neocortex / hippocampus: pyramidal cells and the three main interneuron classes.
 *
 * Rates and trough-to-peak quantiles are the CellExplorer ground-truth cells'
 * (SOURCES.cellExplorerGT: min, q25, median, q75, max computed from cells.json). The waveform
 * widths and peak ratios are chosen so that, after a 300–6000 Hz band-pass, the measured
 * trough-to-peak lands on the drawn value (checked in test/sim/cortex-preset.test.ts against the
 * 0.425 ms CellExplorer boundary, SOURCES.cellExplorerNarrow).
 */
export const cortexPreset: PresetSpec = {
  name: 'cortex',
  description: 'Pyramidal cells and PV, SST, VIP interneurons (CellExplorer ground-truth statistics)',
  defaultOpsinType: 'PV',
  types: [
    {
      name: 'pyramidal',
      description: 'Excitatory pyramidal cell: broad spike, complex-spike bursts',
      // Assumption: pyramidal cells are the majority of cortical units (~70–80 % of neurons).
      weight: 0.6,
      layer: null,
      waveform: {
        troughToPeakMs: [0.675, 0.725, 0.783, 0.783, 0.808], // cellExplorerGT, Pyramidal (n = 9)
        troughWidthMs: [0.09, 0.12], // shape assumption, tuned to the measured trough-to-peak
        peakToTroughRatio: [0.2, 0.35], // barthó2004: wide spikes have a small late peak
        peakWidthMs: [0.25, 0.35], // shape assumption
        prePeakRatio: [0, 0.08], // somatic spike: little or no initial positive phase
        somaAmplitudeUv: [250, 600], // henze2000: a few hundred µV near the soma
        farFieldExponent: 2, // pettersenEinevoll2008: dipole far field
      },
      firing: {
        rateHz: [1.538, 1.88, 2.879, 3.376, 6.464], // cellExplorerGT, Pyramidal
        refractoryMs: [2, 3], // assumption: absolute refractory period of a few ms
        gammaShape: [0.8, 1.2], // unused (the recovering hazard below is used instead)
        recoveryTauMs: [0.247, 0.557, 0.708, 0.762, 0.887], // cellExplorerGT: acg_tau_rise_ms, Pyramidal
        burstProbability: [0.05, 0.12], // harris2001: complex-spike bursts; tuned so the ACG matches the cellExplorerGT pyramidal acg_narrow (burst hump 3–15 ms, ≈ 6× the asymptote)
        burstSpikesMean: [1.5, 2.5], // harris2001: 2–6 spikes per burst
        burstIsiMs: [3.5, 8], // harris2001: intra-burst ISIs mostly 3–6 ms (each ISI varies ±40 % around the unit's value)
        burstAmplitudeDecay: [0.8, 0.92], // harris2001: amplitude decreases within a burst
        modulationDepth: [0.2, 0.5], // assumption: slow state-dependent rate changes
        modulationPeriodS: [5, 60],
        fluctuationSd: [0.7, 1], // tuned to the cellExplorerGT ACG shoulder (decay over tens of ms)
        fluctuationTimeConstantS: [0.05, 0.15],
      },
      light: {
        latencyMs: [3, 8], // scienceOptotag range (upper part; ChR2 in pyramidal cells is slower to drive, assumption)
        jitterMs: [0.8, 2.7], // scienceOptotag
        reliability: [0.5, 0.9], // assumption
        sustainedRateHz: [10, 30], // assumption
      },
    },
    {
      name: 'PV',
      description: 'Parvalbumin fast-spiking interneuron: narrow spike, no bursts',
      weight: 0.2,
      layer: null,
      waveform: {
        troughToPeakMs: [0.23, 0.265, 0.28, 0.31, 0.4], // cellExplorerGT, PV (n = 15); max 0.44 clipped to 0.40 (one outlier cell above the 0.425 boundary)
        troughWidthMs: [0.05, 0.07],
        peakToTroughRatio: [0.45, 0.8], // barthó2004: narrow spikes, large late peak
        peakWidthMs: [0.09, 0.13],
        prePeakRatio: [0, 0.05],
        somaAmplitudeUv: [150, 400], // henze2000
        farFieldExponent: 2,
      },
      firing: {
        rateHz: [1.854, 4.878, 6.115, 14.747, 23.877], // cellExplorerGT, PV
        refractoryMs: [1.5, 2], // fast spiking: short refractory period (assumption)
        gammaShape: [1.2, 2], // unused (the recovering hazard below is used instead)
        recoveryTauMs: [0.5, 1.52, 2.802, 3.307, 6.462], // cellExplorerGT: acg_tau_rise_ms, PV
        burstProbability: [0, 0], // fast-spiking cells do not burst (cellExplorerGT PV ACGs have no burst peak)
        burstSpikesMean: [1, 1],
        burstIsiMs: [2, 4],
        burstAmplitudeDecay: [1, 1],
        modulationDepth: [0.2, 0.5],
        modulationPeriodS: [5, 60],
        fluctuationSd: [0.6, 0.9], // tuned to the cellExplorerGT PV ACG shoulder (≈ 1.25× at 10–20 ms)
        fluctuationTimeConstantS: [0.02, 0.06],
      },
      light: {
        latencyMs: [1.5, 4], // scienceOptotag range (lower part: PV/ChR2 is fast, assumption)
        jitterMs: [0.2, 1], // scienceOptotag
        reliability: [0.8, 1], // assumption
        sustainedRateHz: [60, 150], // assumption: fast spiking under sustained light
      },
    },
    {
      name: 'SST',
      description: 'Somatostatin interneuron: intermediate spike width, slow ACG rise',
      weight: 0.12,
      layer: null,
      waveform: {
        troughToPeakMs: [0.242, 0.329, 0.367, 0.433, 0.525], // cellExplorerGT, SST (n = 11)
        troughWidthMs: [0.06, 0.09],
        peakToTroughRatio: [0.3, 0.6],
        peakWidthMs: [0.12, 0.2],
        prePeakRatio: [0, 0.05],
        somaAmplitudeUv: [150, 400],
        farFieldExponent: 2,
      },
      firing: {
        rateHz: [2.096, 6.601, 7.732, 10.429, 17.34], // cellExplorerGT, SST
        refractoryMs: [1.5, 2.5],
        gammaShape: [2, 3.5], // unused (the recovering hazard below is used instead)
        recoveryTauMs: [0.416, 3.445, 7.56, 19.412, 22.209], // cellExplorerGT: acg_tau_rise_ms, SST (slow rise)
        burstProbability: [0, 0],
        burstSpikesMean: [1, 1],
        burstIsiMs: [3, 6],
        burstAmplitudeDecay: [1, 1],
        modulationDepth: [0.2, 0.5],
        modulationPeriodS: [5, 60],
        fluctuationSd: [0.5, 0.8], // tuned to the cellExplorerGT SST ACG
        fluctuationTimeConstantS: [0.02, 0.06],
      },
      light: {
        latencyMs: [2, 6], // scienceOptotag
        jitterMs: [0.5, 2], // scienceOptotag
        reliability: [0.6, 0.95],
        sustainedRateHz: [20, 60],
      },
    },
    {
      name: 'VIP',
      description: 'VIP interneuron: intermediate-to-broad spike, irregular, some bursts',
      weight: 0.08,
      layer: null,
      waveform: {
        troughToPeakMs: [0.317, 0.433, 0.467, 0.554, 0.6], // cellExplorerGT, VIP (n = 10)
        troughWidthMs: [0.07, 0.1],
        peakToTroughRatio: [0.25, 0.5],
        peakWidthMs: [0.15, 0.25],
        prePeakRatio: [0, 0.05],
        somaAmplitudeUv: [120, 350],
        farFieldExponent: 2,
      },
      firing: {
        rateHz: [2.261, 3.602, 4.402, 7.558, 13.678], // cellExplorerGT, VIP
        refractoryMs: [1.5, 2.5],
        gammaShape: [1, 1.8], // unused (the recovering hazard below is used instead)
        recoveryTauMs: [0.969, 2.599, 3.661, 5.453, 13.512], // cellExplorerGT: acg_tau_rise_ms, VIP
        burstProbability: [0, 0], // cellExplorerGT: burst index median ≈ 1 (no burst excess)
        burstSpikesMean: [1, 1],
        burstIsiMs: [3, 8],
        burstAmplitudeDecay: [1, 1],
        modulationDepth: [0.2, 0.5],
        modulationPeriodS: [5, 60],
        fluctuationSd: [0.6, 0.9], // tuned to the cellExplorerGT VIP ACG shoulder
        fluctuationTimeConstantS: [0.03, 0.1],
      },
      light: {
        latencyMs: [2, 6],
        jitterMs: [0.5, 2.7],
        reliability: [0.5, 0.9],
        sustainedRateHz: [15, 40],
      },
    },
  ],
};
