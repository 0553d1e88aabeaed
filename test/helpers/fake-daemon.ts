/**
 * A stand-in for the daemon's publishing side, for bus and dashboard tests: seeded synthetic units
 * (types, tags, waveforms, ACGs, PSTHs) spread over a probe's channels, Poisson spikes, status with
 * a latency histogram, and a CommandHandler that records commands and engages the emergency stop.
 * It gives the page a rig-sized load (384 channels, 300 units) for the frame-time figures; the
 * dashboard on the real daemon and simulator is tested in test/dashboard/daemon-e2e.test.ts.
 */
import type { CommandHandler, CommandResult, DaemonCommand } from '../../src/core/commands.js';
import { allocateSpikeBatch, type SpikeBatch } from '../../src/core/spikes.js';
import type { DaemonStatus } from '../../src/core/status.js';
import type { UnitSummary } from '../../src/core/units.js';
import type { BusServer } from '../../src/bus/server.js';
import { seededRandom } from './seeded.js';

const CLASSES = ['PV', 'SST', 'VIP', 'pyramidal'];

export function syntheticUnits(count: number, channels: number, seed = 1): UnitSummary[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const cls = i % 5 === 4 ? null : CLASSES[Math.floor(random() * CLASSES.length)];
    const p = CLASSES.map((c) => (c === cls ? 0.7 : 0.1));
    const fast = cls === 'PV';
    const waveform = Array.from({ length: 60 }, (_, t) => -90 * Math.exp(-(((t - 20) / (fast ? 2 : 3.5)) ** 2)) + 30 * Math.exp(-(((t - (fast ? 26 : 32)) / 5) ** 2)));
    const tagged = i % 7 === 0;
    return {
      unitId: i,
      streamId: 'probe0',
      peakChannel: Math.floor((i / count) * channels),
      spikeCount: 500 + Math.floor(random() * 5000),
      firingRateHz: fast ? 15 + random() * 20 : 1 + random() * 8,
      troughToPeakMs: fast ? 0.3 : 0.7,
      meanWaveformUv: waveform,
      acg: Array.from({ length: 50 }, (_, lag) => Math.round((lag < 2 ? 0 : 10) * (1 - Math.exp(-lag / 5)) + random() * 3)),
      layer: 'L5',
      classification: cls
        ? { classNames: CLASSES, probabilities: p, confidenceRatio: 7, label: cls, spikeCount: 400, timeToLabelS: 30, modelName: 'synthetic' }
        : { classNames: CLASSES, probabilities: [0.3, 0.3, 0.2, 0.2], confidenceRatio: 1, label: null, spikeCount: 400, timeToLabelS: null, modelName: 'synthetic' },
      tag: tagged
        ? {
            state: 'tagged',
            pulses: 200,
            saltP: 0.0004,
            saltI: 0.4,
            latencyMs: 3 + random() * 3,
            jitterMs: 0.4 + random(),
            reliability: 0.8,
            allenRatio: 6,
            waveformCorrelation: 0.97,
            psth: { binMs: 0.5, startMs: -5, counts: Array.from({ length: 30 }, (_, b) => (b >= 16 && b <= 19 ? 40 + Math.round(random() * 20) : Math.round(random() * 4))) },
          }
        : { state: 'untested', pulses: 0, saltP: null, saltI: null, latencyMs: null, jitterMs: null, reliability: null, allenRatio: null, waveformCorrelation: null },
    };
  });
}

export class FakeDaemon implements CommandHandler {
  readonly commands: { command: DaemonCommand; origin: string }[] = [];
  estopEngaged = false;
  sampleIndex = 0;
  readonly units: UnitSummary[];
  private readonly random: () => number;
  private readonly batch: SpikeBatch;
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly bus: BusServer,
    readonly unitCount = 300,
    readonly channels = 384,
    readonly sampleRateHz = 30000,
    seed = 7,
  ) {
    this.units = syntheticUnits(unitCount, channels, seed);
    this.random = seededRandom(seed + 1);
    this.batch = allocateSpikeBatch('probe0', sampleRateHz, 8192);
  }

  handle(command: DaemonCommand, origin: string): CommandResult {
    this.commands.push({ command, origin });
    if (command.kind === 'estop') {
      this.estopEngaged = true;
      this.publishStatus();
      return { ok: true, code: null, message: 'engaged: all outputs off' };
    }
    if (command.kind === 'release-estop') {
      this.estopEngaged = false;
      this.publishStatus();
    }
    return { ok: true, code: null, message: 'accepted' };
  }

  /** One block of `frames` samples: Poisson spikes for every unit, on or near its peak channel. */
  publishBlock(frames: number): void {
    const b = this.batch;
    b.count = 0;
    const dtS = frames / this.sampleRateHz;
    for (const u of this.units) {
      if (this.random() < u.firingRateHz * dtS && b.count < b.peakSampleIndex.length) {
        b.peakSampleIndex[b.count] = this.sampleIndex + Math.floor(this.random() * frames);
        b.peakChannel[b.count] = Math.min(this.channels - 1, u.peakChannel + Math.floor(this.random() * 3));
        b.amplitudeUv[b.count] = -80;
        b.unitId[b.count] = u.unitId;
        b.count++;
      }
    }
    // Some unassigned threshold crossings too.
    if (this.random() < 200 * dtS) {
      b.peakSampleIndex[b.count] = this.sampleIndex;
      b.peakChannel[b.count] = Math.floor(this.random() * this.channels);
      b.amplitudeUv[b.count] = -50;
      b.unitId[b.count] = -1;
      b.count++;
    }
    this.sampleIndex += frames;
    this.bus.publishSpikes(b);
  }

  status(): DaemonStatus {
    const counts = [3, 40, 380, 520, 80, 12, 3, 1, 0, 0];
    return {
      rig: 'fake-rig',
      uptimeS: this.sampleIndex / this.sampleRateHz + 2,
      streamTimeS: this.sampleIndex / this.sampleRateHz,
      sourceBufferOccupancy: 0.12,
      blocksDropped: 0,
      blocksOverflowed: 0,
      recorderQueueOccupancy: 0.05,
      recorderFramesDropped: 0,
      latency: [
        {
          name: 'software',
          bucketUpperUs: [50, 100, 200, 400, 800, 1600, 3200, 6400, 12800],
          counts,
          count: counts.reduce((a, b) => a + b, 0),
          p50Us: 310,
          p99Us: 1500,
          p999Us: 3000,
          maxUs: 4100,
        },
      ],
      devices: [{ name: 'led', kind: 'sim', state: 'connected', bytes: 1000, blocks: 0, resyncs: 0, drops: 0, lastError: null }],
      estopEngaged: this.estopEngaged,
    };
  }

  publishStatus(): void {
    this.bus.publishStatus(this.status());
  }

  /** Publishes at real rates until stop(): 1 ms blocks (in 10 ms bursts), units at 2 Hz, status at 4 Hz. */
  start(): void {
    this.timers.push(setInterval(() => {
      for (let i = 0; i < 10; i++) this.publishBlock(this.sampleRateHz / 1000);
    }, 10));
    this.timers.push(setInterval(() => this.bus.publishUnits(this.units, { complete: true }), 500));
    this.timers.push(setInterval(() => this.publishStatus(), 250));
    this.bus.publishUnits(this.units, { complete: true });
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }
}
