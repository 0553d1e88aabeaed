import type { Simulation } from '../../sim/simulation.js';

/**
 * Runs a simulation for `seconds` in 1 s chunks and keeps only the listed channels (µV), so that
 * tests can look at long recordings of many channels without holding all of them in memory.
 */
export function recordChannels(sim: Simulation, seconds: number, channels: Iterable<number>): Map<number, Float64Array> {
  const rate = sim.options.sampleRateHz;
  const C = sim.generator.channelCount;
  const total = Math.round(seconds * rate);
  const wanted = [...new Set(channels)];
  const out = new Map(wanted.map((c) => [c, new Float64Array(total)]));
  const chunk = rate;
  const buffer = new Int16Array(chunk * C);
  const scale = sim.uvPerCount;
  let done = 0;
  while (done < total) {
    const frames = Math.min(chunk, total - done);
    sim.generator.generate(buffer, frames);
    for (const c of wanted) {
      const dst = out.get(c)!;
      for (let f = 0; f < frames; f++) dst[done + f] = buffer[f * C + c] * scale[c];
    }
    done += frames;
  }
  return out;
}
