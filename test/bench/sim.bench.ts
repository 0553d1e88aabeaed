// Simulator throughput: 384 channels × 30 kHz, 1 ms blocks, both presets at their defaults
// (192 units, 384 background units, drift, common noise, light artefacts, a 10 ms optotagging pulse
// per second). Prints per-block generation time p50 / p99 / p99.9 / max and the real-time factor.
// Target: ≥ 5× real time on one core. Runs alone (after npm run build, for the WebAssembly
// kernels): node --import tsx test/bench/sim.bench.ts
import { cpus } from 'node:os';
import { createSimulation } from '../../sim/simulation.js';

const SECONDS = Number(process.env.SIM_BENCH_SECONDS ?? 20);
const BLOCK = 30;

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

for (const preset of ['cortex', 'cerebellum'] as const) {
  const sim = createSimulation({ preset, channels: 384, seed: 1 });
  const rate = sim.options.sampleRateHz;
  for (let s = 2; s < SECONDS; s++) sim.generator.addPulse({ onsetSample: s * rate, offsetSample: s * rate + 300, level: 1, output: 0, requestId: -1, reason: 'bench' });
  const out = new Int16Array(BLOCK * 384);
  for (let b = 0; b < 1000; b++) sim.generator.generate(out, BLOCK); // warm-up (1 s)
  const blocks = Math.round((SECONDS * rate) / BLOCK);
  const times = new Float64Array(blocks);
  const started = performance.now();
  for (let b = 0; b < blocks; b++) {
    const t0 = performance.now();
    sim.generator.generate(out, BLOCK);
    times[b] = (performance.now() - t0) * 1000;
  }
  const wallS = (performance.now() - started) / 1000;
  times.sort();
  const blockUs = (BLOCK / rate) * 1e6;
  console.log(
    `sim ${preset}: 384 ch × ${rate / 1000} kHz, ${BLOCK}-frame blocks (${blockUs} µs of data), ${SECONDS} s, ${sim.units.filter((u) => !u.background).length} units + ${sim.units.filter((u) => u.background).length} background, ${cpus()[0]?.model ?? 'cpu'}\n` +
      `  per block µs: p50 ${quantile(times, 0.5).toFixed(0)}  p99 ${quantile(times, 0.99).toFixed(0)}  p99.9 ${quantile(times, 0.999).toFixed(0)}  max ${times[times.length - 1].toFixed(0)}\n` +
      `  real-time factor ${(SECONDS / wallS).toFixed(2)}× (${((SECONDS * rate * 384) / wallS / 1e6).toFixed(1)} M samples/s)`,
  );
}
