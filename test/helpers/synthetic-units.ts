/**
 * Labelled units with known differences, for classifier tests: three classes that differ in
 * waveform width and in firing regularity, drawn with a seeded generator.
 */
import type { LibraryUnitInput } from '../../src/classify/library.js';
import { seededRandom } from './seeded.js';

export const SYNTHETIC_CLASSES = ['narrow-poisson', 'wide-regular', 'medium-bursty'] as const;

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** A spike-shaped waveform (µV) at 30 kHz, trough at sample 40 of 120, with given trough-to-peak. */
export function spikeWaveform(troughToPeakMs: number, depthUv: number, random: () => number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 120; i++) {
    const t = (i - 40) / 30; // ms
    const v = -depthUv * Math.exp(-0.5 * (t / (0.06 + 0.05 * troughToPeakMs)) ** 2) + 0.35 * depthUv * Math.exp(-0.5 * ((t - troughToPeakMs) / (0.1 + 0.2 * troughToPeakMs)) ** 2);
    out.push(v + 0.5 * gaussian(random));
  }
  return out;
}

export function syntheticSpikeTimes(kind: (typeof SYNTHETIC_CLASSES)[number], count: number, random: () => number): number[] {
  const times: number[] = [];
  let t = random();
  while (times.length < count) {
    if (kind === 'narrow-poisson') t += 0.002 + -Math.log(1 - random()) / 25;
    else if (kind === 'wide-regular') t += 0.02 * (1 + 0.08 * gaussian(random));
    else {
      t += 0.003 + -Math.log(1 - random()) / 4;
      for (let b = 0; b < 3 && times.length < count - 1; b++) {
        times.push(t);
        t += 0.004 + 0.001 * random();
      }
    }
    times.push(t);
  }
  return times.slice(0, count);
}

export function syntheticUnit(kind: (typeof SYNTHETIC_CLASSES)[number], id: string, spikes: number, random: () => number): LibraryUnitInput {
  const ttp = kind === 'narrow-poisson' ? 0.25 : kind === 'wide-regular' ? 0.7 : 0.45;
  return {
    id,
    label: kind,
    waveformUv: spikeWaveform(ttp * (0.9 + 0.2 * random()), 60 + 100 * random(), random),
    waveformSampleRateHz: 30000,
    spikeTimesS: syntheticSpikeTimes(kind, spikes, random),
  };
}

/** `perClass` units of each class, 300…1500 spikes each. */
export function syntheticLibrary(perClass: number, seed: number): { units: LibraryUnitInput[] } {
  const random = seededRandom(seed);
  const units: LibraryUnitInput[] = [];
  for (let i = 0; i < perClass; i++) {
    for (const kind of SYNTHETIC_CLASSES) units.push(syntheticUnit(kind, `${kind}-${i}`, 300 + Math.floor(1200 * random()), random));
  }
  return { units };
}
