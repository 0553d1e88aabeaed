/**
 * Light from an emulated LED driver into the running simulation: what the device was told to emit
 * becomes pulses in the simulated tissue, so a program driving the emulated Pulse Pal, DC4104 or
 * firmware bridge makes the simulated neurons answer.
 *
 * Timing (docs/simulator.md, light timing contract): commands are queued as the emulator reports
 * them and placed at the start of the next block the generator produces, with onset = that
 * block's first sample + 1 ms (`SimGenerator.samplesBefore`, its look-ahead). With that offset a
 * train lands exactly where the same pulses given in advance would (a served run can be
 * regenerated from its ground-truth pulses); the cost is a fixed 1 ms (+ up to one block) from
 * command to light, as a device's own latency.
 *
 * - `train()`: a whole schedule known at once (Pulse Pal): one pulse each.
 * - `on()` / `off()`: edges seen as they happen (a host-timed LED, gate edges): `on` opens a pulse
 *   (`SimGenerator.addOpenPulse`), `off` ends it. Edges reach us late by a varying delay, and an
 *   off edge must arrive before the simulation has passed the light's end; so edge light gets a
 *   further fixed delay (`edgeDelayMs`, default 10 ms) and is placed by the device's own edge
 *   times: the first on edge anchors device time to the simulation's samples, later edges follow
 *   that anchor (re-anchored when an edge would land in the past or more than twice the delay
 *   ahead, that bound widened by the edge's distance from the first edge of its batch; never
 *   closer to the previous on edge than the device's spacing). Widths
 *   and intervals are then the device's, exact to a sample, whenever the edges' delays vary by
 *   less than `edgeDelayMs`. Light kept on longer than `maxOpenMs` continues as a
 *   new pulse.
 */
import type { LightTriggerSource, SimGenerator } from '../../generator.js';
import type { OpenPulse } from '../../generator.js';

type Queued =
  | { kind: 'train'; output: number; onsetsUs: readonly number[]; widthUs: number; level: number }
  | { kind: 'on'; output: number; level: number; deviceTimeUs: number }
  | { kind: 'off'; output: number; deviceTimeUs: number }
  | { kind: 'abort' };

interface OpenLight {
  handle: OpenPulse;
  /** Device time (µs) of the light's onset sample. */
  onUs: number;
  onsetSample: number;
  level: number;
  requestId: number;
}

export interface EmulatorLightOptions {
  /** Recorded as each pulse's `reason` (ground truth): the device that shone it. */
  readonly reason: string;
  /** Extra delay of edge-reported light, covering how late edges reach us (default 10 ms). */
  readonly edgeDelayMs?: number;
  /** Longest pulse an `on` opens before it is continued by another (default 10 s). */
  readonly maxOpenMs?: number;
  /** Most commands waiting for the next block; more are dropped and counted (default 4096). */
  readonly queueCapacity?: number;
}

export class EmulatorLight implements LightTriggerSource {
  /** Pulses placed in the simulation. */
  pulsesPlaced = 0;
  /** Commands dropped because the queue was full (the simulation stalled). */
  commandsDropped = 0;
  /**
   * Edges that reached the simulation too late to be placed by the device's time (an on edge whose
   * time had passed, an off edge after its light's end had been generated): their light is
   * placed late, never early, and its width or interval is then not the device's.
   */
  edgesLate = 0;
  /** On and off edges placed (of which edgesLate late). */
  edgesPlaced = 0;
  private readonly queue: Queued[] = [];
  private readonly open = new Map<number, OpenLight>();
  private readonly maxOpenMs: number;
  private readonly capacity: number;
  private nextRequestId = 1;
  private attached = false;
  private readonly edgeDelayMs: number;
  /** Device time (µs) and the simulation sample it was placed at, for edge light. */
  private anchorUs = 0;
  private anchorSample = -1;
  /** The last on edge placed: device time (µs) and its sample. */
  private lastOnUs = 0;
  private lastOnSample = -1;

  constructor(
    private readonly generator: SimGenerator,
    private readonly options: EmulatorLightOptions,
  ) {
    this.maxOpenMs = options.maxOpenMs ?? 10_000;
    this.capacity = options.queueCapacity ?? 4096;
    this.edgeDelayMs = options.edgeDelayMs ?? 10;
  }

  attach(): void {
    if (this.attached) return;
    this.generator.addTriggerSource(this);
    this.attached = true;
  }

  detach(): void {
    if (!this.attached) return;
    this.generator.removeTriggerSource(this);
    this.attached = false;
    this.queue.length = 0;
  }

  /** A train whose every pulse is known: onsets in µs after the command, one width, level 0…1. */
  train(output: number, onsetsUs: readonly number[], widthUs: number, level: number): void {
    this.push({ kind: 'train', output, onsetsUs, widthUs, level });
  }

  /** The light of `output` goes on at the device's time `deviceTimeUs`. */
  on(output: number, level: number, deviceTimeUs: number): void {
    this.push({ kind: 'on', output, level, deviceTimeUs });
  }

  /** The light of `output` goes off at the device's time `deviceTimeUs`. */
  off(output: number, deviceTimeUs: number): void {
    this.push({ kind: 'off', output, deviceTimeUs });
  }

  /** Every light of the site stops now (the device's abort / emergency stop). */
  abort(): void {
    this.push({ kind: 'abort' });
  }

  drainTriggers(blockStartSample: number, generator: SimGenerator): void {
    const onset = blockStartSample + generator.samplesBefore;
    const samplesPerUs = generator.sampleRateHz / 1e6;
    const maxOpen = Math.max(1, Math.round(this.maxOpenMs * 1000 * samplesPerUs));
    let batchFirstUs = Number.NaN;
    for (const q of this.queue) {
      switch (q.kind) {
        case 'train': {
          const width = Math.max(1, Math.round(q.widthUs * samplesPerUs));
          const requestId = this.nextRequestId++;
          for (const us of q.onsetsUs) {
            const at = onset + Math.round(us * samplesPerUs);
            generator.addPulse({ onsetSample: at, offsetSample: at + width, level: q.level, output: q.output, requestId, reason: this.options.reason });
            this.pulsesPlaced++;
          }
          break;
        }
        case 'on': {
          if (this.open.has(q.output)) break; // already on: the device saw no edge
          this.edgesPlaced++;
          const requestId = this.nextRequestId++;
          const delay = Math.round(this.edgeDelayMs * 1000 * samplesPerUs);
          let at = this.anchorSample < 0 ? -1 : this.anchorSample + Math.round((q.deviceTimeUs - this.anchorUs) * samplesPerUs);
          // Edges that arrive together (a loaded host reads several at once) widen the window by
          // their device spacing, so a later edge of the batch is never re-anchored before an
          // earlier one.
          if (Number.isNaN(batchFirstUs)) batchFirstUs = q.deviceTimeUs;
          const batchSlack = Math.max(0, Math.round((q.deviceTimeUs - batchFirstUs) * samplesPerUs));
          if (!(at >= onset && at <= onset + 2 * delay + batchSlack)) {
            if (this.anchorSample >= 0 && at < onset) this.edgesLate++;
            // Re-anchored, but never closer to the previous on edge than the device's spacing: when
            // the anchoring edge itself came late, a prompt edge looks far ahead, and placing it at
            // onset + delay would shorten the interval (a device clock that jumped by more than a
            // second is not followed).
            const sincePrevious = this.lastOnSample < 0 ? -1 : this.lastOnSample + Math.round((q.deviceTimeUs - this.lastOnUs) * samplesPerUs);
            at = sincePrevious <= onset + generator.sampleRateHz ? Math.max(onset + delay, sincePrevious) : onset + delay;
            this.anchorUs = q.deviceTimeUs;
            this.anchorSample = at;
          }
          this.lastOnUs = q.deviceTimeUs;
          this.lastOnSample = at;
          const handle = generator.addOpenPulse({ onsetSample: at, offsetSample: at + maxOpen, level: q.level, output: q.output, requestId, reason: this.options.reason });
          this.open.set(q.output, { handle, onUs: q.deviceTimeUs, onsetSample: handle.pulse.onsetSample, level: q.level, requestId });
          this.pulsesPlaced++;
          break;
        }
        case 'off': {
          const light = this.open.get(q.output);
          if (!light) break;
          this.edgesPlaced++;
          const width = Math.max(1, Math.round((q.deviceTimeUs - light.onUs) * samplesPerUs));
          const ended = generator.endOpenPulse(light.handle, light.onsetSample + width);
          if (ended.offsetSample > light.onsetSample + width) this.edgesLate++;
          this.open.delete(q.output);
          break;
        }
        case 'abort':
          generator.abortLight();
          for (const light of this.open.values()) generator.endOpenPulse(light.handle, blockStartSample);
          this.open.clear();
          break;
      }
    }
    this.queue.length = 0;
    // Light left on: continue it with a new pulse well before the current one reaches its end.
    for (const [output, light] of this.open) {
      const end = light.handle.pulse.offsetSample;
      if (blockStartSample + generator.sampleRateHz < end) continue;
      const handle = generator.addOpenPulse({ onsetSample: end, offsetSample: end + maxOpen, level: light.level, output, requestId: light.requestId, reason: this.options.reason });
      light.onUs += (end - light.onsetSample) / samplesPerUs;
      light.onsetSample = end;
      light.handle = handle;
    }
  }

  /** What a served run's summary says about this light. */
  summary(): string {
    const edges = this.edgesPlaced ? `, ${this.edgesLate} of ${this.edgesPlaced} edges late (reached the simulation after their device time: placed late)` : '';
    return `${this.pulsesPlaced} light pulses placed${edges}${this.commandsDropped ? `, ${this.commandsDropped} commands dropped (queue full)` : ''}`;
  }

  private push(q: Queued): void {
    if (this.queue.length >= this.capacity) {
      this.commandsDropped++;
      return;
    }
    this.queue.push(q);
  }
}
