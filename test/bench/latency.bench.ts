/**
 * Closed-loop latency of the whole daemon (issue 6, item 5): the real Daemon, in this process, on
 * the simulator paced like a rig (384 channels × 30 kHz, 1 ms blocks), with the full pipeline and
 * snippets, online units, the cortex classifier in its worker, the bus with a live subscriber to
 * spikes, units and status, and rules on four outputs of a Pulse Pal behind the safety governor.
 * The Pulse Pal is the emulator on the device end of one pty (sim/devices/direct-pty.ts; with
 * `--socat`, a socat pty pair as `sim --serve` uses), in a child process
 * (pulsepal-emulator-child.ts), so that it does not share the daemon's event loop.
 *
 * Per trigger (every acknowledged rule trigger once measuring, ≥ 10 000 by default):
 * - software: the causing block's arrival at the source (cause.sourceReceiveTimeNs) → the sink's
 *   write returned (ack.hostWriteTimeNs): what the daemon itself records in its histogram.
 * - end to end: the simulator's time of the causing sample (cause.sampleIndex) → the emulator's
 *   read of the op 77 bytes returned. The sample's time is when the paced simulator had it: the
 *   source emits block k when its last sample is due, so sample i is due at
 *   start + (i + 1 − firstFrame) / fs (SimSource.sampleDueTimeNs). Times of the two processes are
 *   put on one clock through CLOCK_MONOTONIC, which all processes share.
 *   It is split into: sample → its block arrived (the wait for data: the samples after the peak
 *   that the rules' unit id needs — the early snippet's, or the full one's —, the block framing,
 *   the pacing), and block arrival → device read.
 * - end to end from the deciding sample (b'): the last sample of the block that carried the spike
 *   to the rules — the sample whose acquisition made the decision possible, which is how an
 *   acquisition-to-output figure such as SpikeGLX's is taken — → the emulator's read. (b) minus (b')
 *   is the wait for the samples after the peak that the unit id needs, plus block framing.
 * Also: the daemon's rule-decision histogram, refused triggers per limit, source pacing lateness,
 * source buffer occupancy and blocks dropped (from the bus's status messages), event-loop delay
 * and GC pauses, what the bus subscriber received.
 *
 *   npm run bench:latency [-- triggers [warmupS [samplesAfter]]] [--early=N] [--peak-window-ms=X] [--block-frames=N] [--socat] [--normal-priority] [--emulator-normal-priority] [--no-kick] [--no-noise-thread] [--heap-profile=FILE]
 *
 * Defaults: 10 000 triggers after 8 s of warm-up, the pipeline's snippets (60 samples after the
 * peak, which the classifier's waveform needs; a smaller samplesAfter shows what that wait costs),
 * a 0.2 ms detector peak window and early identification from 6 samples after the peak for the
 * rules (--early=0: off), 1 ms blocks.
 *
 * This measures the host stack (Node, the pty), not USB: a real Pulse Pal 2 adds its USB
 * CDC transfer and up to one 50 µs firmware cycle.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { spawnWithDirectPty } from '../../sim/devices/direct-pty.js';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { cpus, loadavg } from 'node:os';
import { validateRigConfig } from '../../src/config/load.js';
import { systemClock } from '../../src/core/clock.js';
import type { LatencyHistogramSnapshot } from '../../src/core/status.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { requestRealtimePriority, schedulingPolicyOf } from '../../src/daemon/realtime-priority.js';
import type { DaemonLog } from '../../src/daemon/log.js';
import { BusClient } from '../../src/bus/client.js';
import type { BusStatus } from '../../src/bus/messages.js';
import { STIM_LIMITS } from '../../src/closedloop/safety-governor.js';
import { SimSource } from '../../sim/sim-source.js';
import type { ChildMessage, ParentMessage } from './pulsepal-emulator-child.js';
import { monotonicMinusClockNs } from './monotonic-offset.js';
import { percentiles, summary } from './stats.js';
import { describeEarlyIds } from '../../src/classify/units/early-id-tally.js';
import type { EarlyIdCounts } from '../../src/core/status.js';

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
/** The value of `--name=value`, or undefined when the flag is absent. */
const flagValue = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
/** `--socat`: the Pulse Pal behind a socat pty pair (as `sim --serve` gives it) instead of one direct pty. */
const VIA_SOCAT = process.argv.includes('--socat');
/**
 * The daemon's acquisition thread under SCHED_FIFO (daemon.realtimePriority, as a rig should run
 * it; refused without root or an rtprio limit, and then said) unless `--normal-priority`.
 */
const REALTIME_PRIORITY = process.argv.includes('--normal-priority') ? 0 : 20;
/**
 * The Pulse Pal emulator's reading thread under SCHED_FIFO too (with the daemon's), unless
 * `--emulator-normal-priority`: it stands in for a device whose firmware polls its USB endpoint on
 * its own processor, never waiting for the host's CPU; at normal priority on a 2-core host its read
 * waits for CPU time that a real device would not need.
 */
const EMULATOR_REALTIME = REALTIME_PRIORITY > 0 && !process.argv.includes('--emulator-normal-priority');
/** `--no-kick`: daemon.triggerKick off (no wake-up of the other CPU after a block's triggers; src/daemon/cpu-kick.ts). */
const TRIGGER_KICK = !process.argv.includes('--no-kick');
/** `--no-noise-thread`: the simulator draws its noise on the acquisition thread (source.noiseThread false; sim/noise-thread.ts). */
const NOISE_THREAD = !process.argv.includes('--no-noise-thread');
/**
 * `--heap-profile=FILE`: sample every allocation of the measured span (those already collected
 * included: the young garbage behind scavenges is what matters here) and write a V8 heap profile
 * with the top allocating functions printed. Sampling slows the daemon: not for the figures.
 */
const HEAP_PROFILE_PATH = flagValue('heap-profile') ?? null;
const TARGET_TRIGGERS = Math.max(1, Math.floor(Number(positional[0] ?? 10_000)));
const WARMUP_S = Number(positional[1] ?? 8);
/** Snippet samples after the peak: the pipeline's default (60, what the C4 waveform needs) unless given, to see what that wait costs. */
const SAMPLES_AFTER = positional[2] === undefined ? null : Math.floor(Number(positional[2]));
/**
 * The detection settings a closed-loop rig is advised to run (docs/closedloop.md, the Pulse Pal
 * example config): the rules act on unit ids matched 6 samples after the trough
 * (pipeline.snippets.earlySamplesAfter), which the detector reports 0.2 ms after it
 * (pipeline.detect.peakWindowMs). `--early=N` another length, `--early=0` the full snippet's ids
 * (the daemon's default); `--peak-window-ms=X` another window (the daemon's default is 0.4 ms).
 */
const EARLY_SAMPLES_AFTER = Math.floor(Number(flagValue('early') ?? 6));
const PEAK_WINDOW_MS = Number(flagValue('peak-window-ms') ?? 0.2);
/** `--block-frames=N`: frames per source block (default 30, 1 ms): the framing's share of the wait. */
const BLOCK_FRAMES_ARG = flagValue('block-frames');
const CHANNELS = 384;
const SAMPLE_RATE_HZ = 30_000;
const BLOCK_FRAMES = BLOCK_FRAMES_ARG === undefined ? 30 : Math.max(1, Math.floor(Number(BLOCK_FRAMES_ARG)));
const OUTPUTS = 4;
/** ≤ 1000/11 ≈ 91 triggers/s per output: 5 455 per minute, inside the 6 000 configured below. */
const REFRACTORY_MS = 11;
const MAX_UNIT_ID = 2048;
const STALL_MS = 5;
const TOKEN = 'latency-bench-token-0123456789';
const SINK = 'pulsepal';

// ── the Pulse Pal emulator, in its own process ───────────────────────────────────────────────
const childPath = fileURLToPath(new URL('./pulsepal-emulator-child.ts', import.meta.url));
const childStdio = ['ignore', 'inherit', 'inherit', 'ipc'] as const;
const child: ChildProcess = VIA_SOCAT
  ? fork(childPath, [], { execArgv: ['--import', 'tsx'], stdio: [...childStdio] })
  : spawnWithDirectPty(process.execPath, ['--import', 'tsx', childPath], { stdio: [...childStdio] });
let ready: Extract<ChildMessage, { type: 'ready' }> | null = null;
const deviceTimeNs: number[] = [];
const deviceMask: number[] = [];
let flushed: (() => void) | null = null;
let emulatorPauses: { gcPausesMs: number[]; longestLoopGapMs: number } | null = null;
child.on('message', (m: ChildMessage) => {
  if (m.type === 'ready') ready = m;
  else if (m.type === 'triggers') {
    for (let i = 0; i < m.timeNs.length; i++) {
      deviceTimeNs.push(m.timeNs[i]);
      deviceMask.push(m.mask[i]);
    }
  } else if (m.type === 'flushed') {
    emulatorPauses = m;
    flushed?.();
  }
});
const childExited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
await Promise.race([
  new Promise<void>((resolve) => child.once('message', () => resolve())),
  childExited.then((code) => {
    throw new Error(`the emulator process exited (${code}) before it was ready`);
  }),
  timeout(20_000, 'the emulator process did not report ready'),
]);
const emulator = ready as unknown as Extract<ChildMessage, { type: 'ready' }>;
const emulatorPriority = EMULATOR_REALTIME ? requestRealtimePriority(REALTIME_PRIORITY, { threadId: child.pid! }) : null;
if (emulatorPriority && !emulatorPriority.ok) console.log(`latency: the emulator process: ${emulatorPriority.message}`);
const emulatorPolicy = schedulingPolicyOf(child.pid!);
// Emulator clock → this process's clock: both offsets are from CLOCK_MONOTONIC.
const childToHereNs = emulator.monotonicMinusClockNs - monotonicMinusClockNs();

// ── the daemon ───────────────────────────────────────────────────────────────────────────────
const rules: Record<string, unknown> = {};
for (let output = 0; output < OUTPUTS; output++) {
  const units: number[] = [];
  for (let u = output; u < MAX_UNIT_ID; u += OUTPUTS) units.push(u);
  rules[`units-mod4-${output}`] = {
    when: { kind: 'unit-spike', units },
    action: { sink: SINK, output, train: { pulseWidthMs: 0.1, level: 0.2 } },
    refractoryMs: REFRACTORY_MS,
  };
}
const config = validateRigConfig({
  rig: 'latency-bench',
  source: { kind: 'sim', preset: 'cortex', channels: CHANNELS, seed: 1, blockFrames: BLOCK_FRAMES, realTime: true, speed: 1, keepGroundTruth: false, noiseThread: NOISE_THREAD },
  classifier: { model: 'cortex' },
  pipeline: {
    snippets: { ...(SAMPLES_AFTER === null ? {} : { samplesAfter: SAMPLES_AFTER }), earlySamplesAfter: EARLY_SAMPLES_AFTER },
    detect: { peakWindowMs: PEAK_WINDOW_MS },
  },
  sinks: { [SINK]: { kind: 'pulsepal', port: emulator.hostPath } },
  safety: {
    // Explicit, inside the compiled-in maxima; the governor checks every trigger against them.
    limits: { maxPulseWidthMs: 1, maxDutyCycle: 0.05, dutyWindowS: 10, maxPulsesPerMinute: 6000, maxLevel: 0.5, maxDelayMs: 0 },
  },
  rules,
  bus: { port: 0, tokens: [{ name: 'bench', token: TOKEN, permissions: ['subscribe'] }] },
  dashboard: { enabled: false },
  daemon: { realtimePriority: REALTIME_PRIORITY, triggerKick: TRIGGER_KICK },
});

const logCounts = { warn: 0, error: 0 };
const log: DaemonLog = {
  line(level, stage, message) {
    if (level === 'info') return;
    logCounts[level]++;
    if (logCounts[level] <= 20) process.stderr.write(`  daemon ${level} ${stage}: ${message}\n`);
  },
};
const daemon = await Daemon.start(config, { log });
const mainThreadPolicy = schedulingPolicyOf(process.pid);
/** The process's threads by policy, once the source runs: which ones inherited real-time. */
const threadPolicies = new Map<string, number>();
for (const tid of readdirSync('/proc/self/task')) {
  const policy = schedulingPolicyOf(Number(tid), process.pid);
  const comm = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
  const key = `${policy === 1 ? 'FIFO' : policy === 0 ? 'normal' : policy} ${comm}`;
  threadPolicies.set(key, (threadPolicies.get(key) ?? 0) + 1);
}
const source = daemon.source;
if (!(source instanceof SimSource)) throw new Error('expected the simulator as the source');
const stream = daemon.stream!;

// Source pacing: how late each block left the simulator after its last sample was due.
const maxBlocks = 3_600_000;
const pacingLateUs = new Float64Array(maxBlocks);
/** Per measured block: its arrival and when its last sample was due (the deciding sample of what it carried). */
const blockReceiveNs = new Float64Array(maxBlocks);
const blockLastDueNs = new Float64Array(maxBlocks);
let pacedBlocks = 0;
let measuring = false;
source.blocks$.subscribe((block) => {
  if (!measuring || pacedBlocks >= maxBlocks) return;
  const due = source.sampleDueTimeNs(block.firstSampleIndex + block.frameCount - 1);
  if (due === null) return;
  blockReceiveNs[pacedBlocks] = block.hostReceiveTimeNs;
  blockLastDueNs[pacedBlocks] = due;
  pacingLateUs[pacedBlocks++] = (block.hostReceiveTimeNs - due) / 1000;
});

// Every acknowledged trigger, in write order (the order the emulator reads them in).
const capacity = TARGET_TRIGGERS * 4 + 100_000;
/** Host time the causing sample was due at the paced source (taken while the source runs). */
const ackSampleDueNs = new Float64Array(capacity);
const ackReceiveNs = new Float64Array(capacity);
const ackWriteNs = new Float64Array(capacity);
const ackMask = new Int32Array(capacity);
const ackMeasured = new Uint8Array(capacity);
let acks = 0;
let measured = 0;
let failedAcks = 0;
daemon.acks$.subscribe(({ sink, ack }) => {
  if (sink !== SINK || ack.kind !== 'trigger') return;
  if (!ack.ok) {
    failedAcks++;
    return;
  }
  if (acks >= capacity) return;
  const cause = ack.cause;
  ackSampleDueNs[acks] = cause?.sampleIndex == null ? NaN : (source.sampleDueTimeNs(cause.sampleIndex) ?? NaN);
  ackReceiveNs[acks] = cause?.sourceReceiveTimeNs ?? NaN;
  ackWriteNs[acks] = ack.hostWriteTimeNs;
  ackMask[acks] = ack.outputMask;
  ackMeasured[acks] = measuring ? 1 : 0;
  if (measuring) measured++;
  acks++;
});

// ── the bus, with a live subscriber ──────────────────────────────────────────────────────────
const address = daemon.bus!.address!;
const client = await BusClient.connect(`ws://${address.host}:${address.port}/bus`, { token: TOKEN, clientName: 'latency-bench' });
const received = { spikes: 0, spikeBatches: 0, units: 0, statuses: 0, dropped: 0, gaps: 0 };
const statuses: BusStatus[] = [];
client.on('spikes', (b) => {
  received.spikeBatches++;
  received.spikes += b.count;
});
client.on('units', () => received.units++);
client.on('status', (s) => {
  received.statuses++;
  if (measuring) statuses.push(s);
});
client.on('dropped', () => received.dropped++);
client.on('gap', () => received.gaps++);
await client.subscribe(['spikes', 'units', 'status']);

// ── warm-up, then measure ────────────────────────────────────────────────────────────────────
console.log(`latency: Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`latency: ${stream.channelCount} channels × ${stream.sampleRateHz} Hz, ${BLOCK_FRAMES}-frame blocks (${(BLOCK_FRAMES / stream.sampleRateHz) * 1000} ms), real time; warm-up ${WARMUP_S} s, then ${TARGET_TRIGGERS} triggers; Pulse Pal emulator ${VIA_SOCAT ? "behind a socat pty pair" : "on one pty (no relay)"}, simulator paced by ${source instanceof SimSource ? "the precise scheduler" : "?"}`);
await sleep(WARMUP_S * 1000);
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
const gcPausesMs: number[] = [];
/** Each pause's start and end (ms, performance.now's timeline, which systemClock reads). */
const gcSpansMs: number[] = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcPausesMs.push(e.duration);
    gcSpansMs.push(e.startTime, e.startTime + e.duration);
  }
});
gcObserver.observe({ entryTypes: ['gc'] });
const blocksAtStart = daemon.counters.blocks;
const spikesAtStart = daemon.counters.spikes;
daemon.softwareLatency.reset();
daemon.ruleLatency.reset();
daemon.pipelineLatency.reset();
daemon.assignLatency.reset();
daemon.blockLatency.reset();
const refusedAtStart = refusalCounts();
loopDelay.enable();
const cpuAtStart = process.cpuUsage();
const usageAtStart = process.resourceUsage();
const stalls = startStallProbe();
const stealAtStartMs = stealMs();
const heapProfile = HEAP_PROFILE_PATH ? await startAllocationSampling() : null;
measuring = true;
const startNs = systemClock.nowNs();
// Guard: 91 triggers/s per output at most, so at best ~28 s for 10 000; give up well after that.
const guardMs = 120_000 + (TARGET_TRIGGERS / (OUTPUTS * 20)) * 1000;
while (measured < TARGET_TRIGGERS) {
  if (systemClock.nowNs() - startNs > guardMs * 1e6) break;
  if (daemon.failure || daemon.counters.failedBlocks > 100) break;
  await sleep(200);
}
measuring = false;
if (heapProfile) await heapProfile.stop(HEAP_PROFILE_PATH!);
const cpu = process.cpuUsage(cpuAtStart);
const usageAtEnd = process.resourceUsage();
stalls.stop();
const stolenMs = stealMs() - stealAtStartMs;
const durationS = (systemClock.nowNs() - startNs) / 1e9;
loopDelay.disable();
gcObserver.disconnect();
const status = daemon.status();
const software = daemon.softwareLatency.snapshot();
const ruleDecision = daemon.ruleLatency.snapshot();
const pipelineStage = daemon.pipelineLatency.snapshot();
const assignStage = daemon.assignLatency.snapshot();
const blockStage = daemon.blockLatency.snapshot();
const refusedAtEnd = refusalCounts();
const blocks = daemon.counters.blocks - blocksAtStart;
const spikes = daemon.counters.spikes - spikesAtStart;
// One more status over the bus, so that the published histogram of the measured span is seen.
const statusesSeen = received.statuses;
await waitFor(() => received.statuses > statusesSeen, 5000);
const publishedSoftware = statuses.length ? statuses[statuses.length - 1].latency.find((h) => h.name === 'software') ?? null : null;

await client.close();
/** Early ids against the full assignment's, taken before stopping closes the units. */
const daemonEarlyIds: EarlyIdCounts | null = daemon.units?.earlyIdCounts() ?? null;
await daemon.stop();

// Every trigger written must have been read by the emulator: wait for the last batches.
for (let attempt = 0; attempt < 25 && deviceTimeNs.length < acks; attempt++) {
  const done = new Promise<void>((resolve) => (flushed = resolve));
  child.send({ type: 'flush' } satisfies ParentMessage);
  await Promise.race([done, sleep(2000)]);
  if (deviceTimeNs.length < acks) await sleep(200);
}
child.send({ type: 'close' } satisfies ParentMessage);
await Promise.race([childExited, sleep(5000)]);
if (child.exitCode === null) child.kill();

// ── results ──────────────────────────────────────────────────────────────────────────────────
if (measured < TARGET_TRIGGERS) console.log(`latency: WARNING: only ${measured} triggers within ${durationS.toFixed(1)} s (wanted ${TARGET_TRIGGERS})${daemon.failure ? `; the daemon failed: ${daemon.failure}` : ''}`);
const softwareUs: number[] = [];
const endToEndUs: number[] = [];
const dataWaitUs: number[] = [];
const arrivalToDeviceUs: number[] = [];
const writeToDeviceUs: number[] = [];
const decidingSampleToDeviceUs: number[] = [];
const lastDueByArrival = new Map<number, number>();
for (let b = 0; b < pacedBlocks; b++) lastDueByArrival.set(blockReceiveNs[b], blockLastDueNs[b]);
let maskMismatches = 0;
let unmatched = 0;
for (let i = 0; i < acks; i++) {
  if (ackMeasured[i] === 0) continue;
  softwareUs.push((ackWriteNs[i] - ackReceiveNs[i]) / 1000);
  dataWaitUs.push((ackReceiveNs[i] - ackSampleDueNs[i]) / 1000);
  if (i >= deviceTimeNs.length) {
    unmatched++;
    continue;
  }
  if (deviceMask[i] !== ackMask[i]) maskMismatches++;
  const atDeviceNs = deviceTimeNs[i] + childToHereNs;
  endToEndUs.push((atDeviceNs - ackSampleDueNs[i]) / 1000);
  arrivalToDeviceUs.push((atDeviceNs - ackReceiveNs[i]) / 1000);
  writeToDeviceUs.push((atDeviceNs - ackWriteNs[i]) / 1000);
  const decidingDueNs = lastDueByArrival.get(ackReceiveNs[i]);
  if (decidingDueNs !== undefined) decidingSampleToDeviceUs.push((atDeviceNs - decidingDueNs) / 1000);
}

const refused = refusedAtEnd.map((n, i) => n - refusedAtStart[i]);
const refusedTotal = refused.reduce((a, b) => a + b, 0);
const occupancy = Float64Array.from(statuses.map((s) => s.sourceBufferOccupancy));
const gc = Float64Array.from(gcPausesMs.map((ms) => ms * 1000));
const snippets = config.pipeline.snippets;

console.log(
  `  scheduling: daemon.realtimePriority ${REALTIME_PRIORITY}; acquisition thread policy ${mainThreadPolicy === 1 ? `SCHED_FIFO ${REALTIME_PRIORITY}` : mainThreadPolicy === 0 ? 'normal (SCHED_OTHER)' : String(mainThreadPolicy)}; the Pulse Pal emulator's thread ${emulatorPolicy === 1 ? `SCHED_FIFO ${REALTIME_PRIORITY}` : 'normal'}; kick of the other CPU after triggers ${TRIGGER_KICK ? 'on' : 'off'}; simulator noise ${source.noiseThread ? `drawn ahead on a worker thread (the acquisition thread waited for it ${source.noiseThread.counters.waits} times, ${source.noiseThread.counters.waitedMs.toFixed(1)} ms)` : 'drawn on the acquisition thread'}; this process's threads: ${[...threadPolicies].map(([k, n]) => `${n}× ${k}`).join(', ')}`,
);
console.log(`latency: ${measured} triggers in ${durationS.toFixed(1)} s over ${OUTPUTS} Pulse Pal outputs (${(measured / durationS).toFixed(0)}/s), ${blocks} blocks, ${spikes} spikes (${(spikes / durationS).toFixed(0)}/s), ${daemon.unitSummaries().length} units`);
console.log(`  daemon process CPU (main thread + classifier worker + threads): ${(((cpu.user + cpu.system) / 1e6 / durationS) * 100).toFixed(0)} % of one core; load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const afterMs = (n: number) => ((n / SAMPLE_RATE_HZ) * 1000).toFixed(2);
console.log(
  `  pipeline: blocks of ${BLOCK_FRAMES} frames (${afterMs(BLOCK_FRAMES)} ms); detector peak window ${config.pipeline.detect.peakWindowMs} ms; snippets ${snippets.samplesBefore}+1+${snippets.samplesAfter} samples (${afterMs(snippets.samplesAfter)} ms after the peak); the rules act on ${snippets.earlySamplesAfter > 0 ? `early ids from ${snippets.earlySamplesAfter} samples (${afterMs(snippets.earlySamplesAfter)} ms) after the peak` : 'the unit ids of the full snippet'}; classifier ${config.classifier.model} in its worker`,
);
const earlyIds = daemonEarlyIds;
if (earlyIds) console.log(`  ${describeEarlyIds(earlyIds)}`);
console.log(summary('  (a) software: block arrival → sink write returned     ', Float64Array.from(softwareUs)));
console.log(summary('  (b) end to end: causing sample → emulator read         ', Float64Array.from(endToEndUs)));
console.log(summary('      of which sample → its block arrived (data wait)    ', Float64Array.from(dataWaitUs)));
console.log(summary('      of which block arrival → emulator read             ', Float64Array.from(arrivalToDeviceUs)));
console.log(summary('      sink write returned → emulator read                ', Float64Array.from(writeToDeviceUs)));
console.log(summary(`  (b') end to end: deciding sample → emulator read (${decidingSampleToDeviceUs.length})`, Float64Array.from(decidingSampleToDeviceUs)));
console.log(histogramLine('  daemon histogram, software (bucket edges)              ', software));
console.log(histogramLine('  daemon histogram, rule decision: arrival → trigger    ', ruleDecision));
console.log(histogramLine('  per block: arrival → spikes detected and cut          ', pipelineStage));
console.log(histogramLine('  per block: arrival → unit ids assigned                ', assignStage));
console.log(histogramLine('  per block: arrival → all its work done                ', blockStage));
console.log(histogramLine('  software histogram as published on the bus (run total)', publishedSoftware));
console.log(summary('  source pacing: block emitted after its last sample due', pacingLateUs.subarray(0, pacedBlocks)));
console.log(`  event-loop delay (monitorEventLoopDelay, 1 ms resolution): p50 ${fmtMs(loopDelay.percentile(50))}, p99 ${fmtMs(loopDelay.percentile(99))}, p99.9 ${fmtMs(loopDelay.percentile(99.9))}, max ${fmtMs(loopDelay.max)}`);
console.log(
  `  main-thread stalls > ${STALL_MS} ms (1 ms ticks late): ${stalls.count} (the main thread on the CPU most of the gap — long tasks: ${stalls.onCpu}; waiting on the run queue: ${stalls.runQueue}; neither — a short stall's run time read low by the scheduler's tick, or host steal: ${stalls.elsewhere}), longest ${stalls.longestMs.toFixed(1)} ms; involuntary context switches ${usageAtEnd.involuntaryContextSwitches - usageAtStart.involuntaryContextSwitches}, voluntary ${usageAtEnd.voluntaryContextSwitches - usageAtStart.voluntaryContextSwitches}; host steal time ${stolenMs.toFixed(0)} ms over the run (${((stolenMs / (durationS * 1000 * cpus().length)) * 100).toFixed(1)} % of the ${cpus().length} CPUs' time)`,
);
console.log(gc.length ? `${summary(`  GC pauses (${gc.length})                                    `, gc)}` : '  GC pauses: none');
console.log(slowTriggerLine(1000));
if (emulatorPauses) {
  const p = emulatorPauses as { gcPausesMs: number[]; longestLoopGapMs: number };
  console.log(`  emulator process (whole run): ${p.gcPausesMs.length} GC pauses, longest ${Math.max(0, ...p.gcPausesMs).toFixed(3)} ms; longest gap of its 5 ms loop probe ${p.longestLoopGapMs.toFixed(1)} ms`);
}
const occ = percentiles(occupancy);
console.log(`  source buffer occupancy (bus status, ${occupancy.length} messages): p50 ${fmtPct(occ.p50)}, p99 ${fmtPct(occ.p99)}, max ${fmtPct(occ.max)} of ${config.daemon.sourceBufferMs} ms; blocks dropped ${status.blocksDropped}, overflowed ${status.blocksOverflowed}, failed ${daemon.counters.failedBlocks}`);
console.log(`  governor: ${refusedTotal} triggers refused${refusedTotal ? ` (${STIM_LIMITS.map((l, i) => (refused[i] ? `${l} ${refused[i]}` : '')).filter(Boolean).join(', ')})` : ''}; sink failures ${failedAcks}; emulator reads matched ${measured - unmatched} of ${measured}, mask mismatches ${maskMismatches}`);
console.log(`  bus subscriber: ${received.spikes} spikes in ${received.spikeBatches} batches, ${received.units} unit updates, ${received.statuses} status messages, ${received.dropped} drop notices, ${received.gaps} gaps; daemon log: ${logCounts.warn} warnings, ${logCounts.error} errors`);
const sw = percentiles(Float64Array.from(softwareUs));
const e2e = percentiles(Float64Array.from(endToEndUs));
const e2eDeciding = percentiles(Float64Array.from(decidingSampleToDeviceUs));
console.log(
  `  targets: software p50 ≤ 200 µs ${sw.p50 <= 200 ? 'met' : 'MISSED'} (${sw.p50.toFixed(0)} µs), p99.9 ≤ 1 ms ${sw.p999 <= 1000 ? 'met' : 'MISSED'} (${sw.p999.toFixed(0)} µs); end to end p99 ≤ 2 ms from the spike's peak ${e2e.p99 <= 2000 ? 'met' : 'MISSED'} (${e2e.p99.toFixed(0)} µs), from the deciding sample ${e2eDeciding.p99 <= 2000 ? 'met' : 'MISSED'} (${e2eDeciding.p99.toFixed(0)} µs)`,
);
if (measured < TARGET_TRIGGERS || unmatched > 0 || maskMismatches > 0 || daemon.counters.failedBlocks > 0) process.exitCode = 1;

// ── helpers ──────────────────────────────────────────────────────────────────────────────────
/**
 * What the software tail is made of: the measured triggers slower than `thresholdUs` from block
 * arrival to write, how many had a GC pause inside that span, and how many shared their block
 * with others (one slow block makes all its triggers slow).
 */
function slowTriggerLine(thresholdUs: number): string {
  let slow = 0;
  let withGc = 0;
  let gcMsInside = 0;
  const blocks = new Set<number>();
  const blocksWithGc = new Set<number>();
  for (let i = 0; i < acks; i++) {
    if (ackMeasured[i] === 0 || (ackWriteNs[i] - ackReceiveNs[i]) / 1000 <= thresholdUs) continue;
    slow++;
    blocks.add(ackReceiveNs[i]);
    const fromMs = ackReceiveNs[i] / 1e6;
    const toMs = ackWriteNs[i] / 1e6;
    let inside = 0;
    for (let g = 0; g < gcSpansMs.length; g += 2) inside += Math.max(0, Math.min(toMs, gcSpansMs[g + 1]) - Math.max(fromMs, gcSpansMs[g]));
    if (inside > 0) {
      withGc++;
      gcMsInside += inside;
      blocksWithGc.add(ackReceiveNs[i]);
    }
  }
  return `  software > ${(thresholdUs / 1000).toFixed(0)} ms: ${slow} triggers from ${blocks.size} blocks; ${withGc} of them (${blocksWithGc.size} blocks) had a GC pause inside, ${withGc ? (gcMsInside / withGc).toFixed(3) : '0'} ms of GC each on average`;
}

/** Sampling heap profiler of this thread (node:inspector), collected objects included. */
async function startAllocationSampling() {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', { samplingInterval: 8192, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
  return {
    async stop(path: string) {
      const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: HeapProfileNode } };
      session.disconnect();
      writeFileSync(path, JSON.stringify(profile));
      const bySite = new Map<string, number>();
      let total = 0;
      const walk = (node: HeapProfileNode) => {
        const size = node.selfSize ?? 0;
        if (size > 0) {
          const f = node.callFrame;
          const site = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(src|sim|node_modules|test)\//, '$1/')}:${f.lineNumber + 1}`;
          bySite.set(site, (bySite.get(site) ?? 0) + size);
          total += size;
        }
        for (const c of node.children ?? []) walk(c);
      };
      walk(profile.head);
      console.log(`  allocation profile (${path}): ${(total / 1e6).toFixed(1)} MB sampled over the measured span; top sites:`);
      for (const [site, size] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`    ${((size / total) * 100).toFixed(1).padStart(5)} %  ${site}`);
    },
  };
}

interface HeapProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize?: number;
  children?: HeapProfileNode[];
}

function refusalCounts(): number[] {
  const total = new Array<number>(STIM_LIMITS.length).fill(0);
  for (const governor of daemon.governors.values()) governor.refusalCounts.forEach((n, i) => (total[i] += n));
  return total;
}

function fmtMs(ns: number): string {
  return `${(ns / 1e6).toFixed(3)} ms`;
}

/**
 * Ticks every 1 ms on the main thread; a tick that comes more than STALL_MS late is a stall. The
 * main thread's own scheduler statistics over the gap (/proc/thread-self/schedstat: ns on the CPU,
 * ns runnable but waiting for one; read without allocation, ~2 µs a tick) tell its kind:
 * - on the CPU most of the gap: a long task of ours on the main thread (JavaScript, GC);
 * - waiting on the run queue most of it: runnable, but the kernel ran something else;
 * - neither: undetermined. The on-CPU figure of a running thread advances only at the scheduler's
 *   ticks (4 ms steps with HZ 250, measured here), so a short stall spent on the CPU can read as
 *   little as one tick less; the host taking the virtual CPU (steal, left out of both figures)
 *   looks the same.
 * The machine's steal time over the run, read from /proc/stat at the ends, bounds the host's share.
 */
function startStallProbe() {
  const result = { count: 0, onCpu: 0, runQueue: 0, elsewhere: 0, longestMs: 0, stop: () => {} };
  const fd = openSync('/proc/thread-self/schedstat', 'r');
  const bytes = Buffer.alloc(96);
  /** [ns on the CPU, ns waiting on the run queue], parsed in place. */
  const stat = new Float64Array(2);
  const readStat = () => {
    const n = readSync(fd, bytes, 0, bytes.length, 0);
    let field = 0;
    let value = 0;
    for (let i = 0; i < n && field < 2; i++) {
      const c = bytes[i];
      if (c >= 48 && c <= 57) value = value * 10 + (c - 48);
      else {
        stat[field++] = value;
        value = 0;
      }
    }
  };
  readStat();
  let lastNs = systemClock.nowNs();
  let lastRunNs = stat[0];
  let lastWaitNs = stat[1];
  const timer = setInterval(() => {
    const nowNs = systemClock.nowNs();
    readStat();
    const gapMs = (nowNs - lastNs) / 1e6;
    if (gapMs > STALL_MS + 1) {
      const runMs = (stat[0] - lastRunNs) / 1e6;
      const waitMs = (stat[1] - lastWaitNs) / 1e6;
      result.count++;
      if (runMs > 0.5 * gapMs) result.onCpu++;
      else if (waitMs > 0.5 * gapMs) result.runQueue++;
      else result.elsewhere++;
      if (gapMs > result.longestMs) result.longestMs = gapMs;
    }
    lastNs = nowNs;
    lastRunNs = stat[0];
    lastWaitNs = stat[1];
  }, 1);
  result.stop = () => {
    clearInterval(timer);
    closeSync(fd);
  };
  return result;
}

/** The machine's steal time so far (ms, all CPUs): what the host took from this guest's virtual CPUs. */
function stealMs(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  // cpu user nice system idle iowait irq softirq steal …, in USER_HZ ticks (100 per second on Linux).
  return Number(cpu[8] ?? 0) * 10;
}

function histogramLine(label: string, h: LatencyHistogramSnapshot | null): string {
  if (!h || h.count === 0) return `${label}: (empty)`;
  const f = (v: number | null) => (v === null ? '–' : `${(v / 1000).toFixed(3)} ms`);
  return `${label}: p50 ${f(h.p50Us)}, p99 ${f(h.p99Us)}, p99.9 ${f(h.p999Us)}, max ${f(h.maxUs)} (${h.count})`;
}

function fmtPct(v: number): string {
  return Number.isNaN(v) ? '–' : `${(v * 100).toFixed(1)} %`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function timeout(ms: number, message: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(message)), ms).unref());
}

async function waitFor(condition: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await sleep(50);
}
