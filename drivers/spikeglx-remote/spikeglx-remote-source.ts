import { endianness } from 'node:os';
import { systemClock, type MonotonicClock } from '../../src/core/clock.js';
import { OptoloopError } from '../../src/core/errors.js';
import type { MutableInt16Block } from '../../src/core/sample-block.js';
import type { StreamInfo } from '../../src/core/sample-source.js';
import type { Binding } from '../binding/binding.js';
import { TcpBinding, tcpPath, type TcpOpenOptions } from '../binding/tcp-binding.js';
import { DeviceCountTracker } from '../tcp-common/device-count-tracker.js';
import { NetworkSampleSource } from '../tcp-common/network-source.js';
import { AdaptivePollPacer } from './poll-pacer.js';
import { parseAcqChans, planFetch, type FetchPlan } from './spikeglx-channels.js';
import { FETCH_TOO_LATE, SpikeglxClient } from './spikeglx-client.js';
import type { SpikeglxRemoteSourceConfig } from './spikeglx-remote-config.js';
import { type Timers, systemTimers } from '../binding/timers.js';
import { delay } from '../tcp-common/delay.js';

export interface SpikeglxRemoteSourceDeps {
  readonly binding?: Binding<TcpOpenOptions>;
  /** Reply timeouts and reconnection back-off. */
  readonly timers?: Timers;
  /** Pauses between FETCHes (defaults to `timers`). */
  readonly pollTimers?: Timers;
  /** Host receive timestamps of blocks. */
  readonly clock?: MonotonicClock;
}

const STAGE = 'drivers/spikeglx-remote';
const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';

/**
 * A SpikeGLX stream as a SampleSource, through SpikeGLX's remote command server (protocols §4.2).
 *
 * `open()`: GETVERSION, GETSTREAMSAMPLERATE, GETSTREAMACQCHANS, and GETSTREAMI16TOVOLTS for each
 * delivered channel (µV per count = volts per count × 10⁶). `start()`: GETSTREAMSAMPLECOUNT, then
 * `FETCH js ip fromCt nMax subset` repeated from the last count, paced adaptively. Each reply with
 * samples becomes one int16 block whose deviceTimestamp is its SpikeGLX sample count.
 *
 * `ERROR FETCH: Too late.` (the data left SpikeGLX's buffer) → the count is read again and
 * fetching resumes from it; the samples skipped are counted as dropped and firstSampleIndex jumps
 * by them. After a reconnection fetching resumes from the last count, so an outage shorter than
 * SpikeGLX's buffer loses nothing.
 */
export class SpikeglxRemoteSource extends NetworkSampleSource {
  readonly kind = 'spikeglx-remote';
  plan: FetchPlan | null = null;
  version: string | null = null;
  /** FETCHes answered "Too late". */
  tooLateCount = 0;
  fetchCount = 0;
  private readonly binding: Binding<TcpOpenOptions>;
  private readonly pollTimers: Timers;
  private readonly clock: MonotonicClock;
  private readonly pacer: AdaptivePollPacer;
  private client: SpikeglxClient | null = null;
  private tracker: DeviceCountTracker | null = null;
  private block: MutableInt16Block | null = null;
  private payload = new Uint8Array(0);
  private payloadView = new Int16Array(0);
  private payloadData: DataView | null = null;
  private readonly command = new Uint8Array(64 * 1024);
  private commandPrefixLength = 0;
  private commandSuffix = new Uint8Array(0);
  private nextCount = 0;
  private haveCount = false;
  private needCount = false;
  private resumeAfterReconnect = false;
  private gate: { promise: Promise<void>; open: () => void } = newGate();
  private parkedWaiters: (() => void)[] = [];
  /** True while no fetch is in flight: the loop waits at its gate, or no loop runs. */
  private loopParked = true;
  private closedBytes = 0;
  private closedGarbage = 0;
  private closedResyncs = 0;

  constructor(
    readonly config: SpikeglxRemoteSourceConfig,
    deps: SpikeglxRemoteSourceDeps = {},
  ) {
    super(STAGE, config.reconnect, deps.timers ?? systemTimers);
    this.binding = deps.binding ?? new TcpBinding();
    this.pollTimers = deps.pollTimers ?? this.timers;
    this.clock = deps.clock ?? systemClock;
    this.pacer = new AdaptivePollPacer(config.pollIntervalMs);
  }

  get streamId(): string {
    return `spikeglx@${tcpPath(this.config.host, this.config.port)}/js${this.config.js}/ip${this.config.ip}`;
  }

  /** The SpikeGLX sample count the next FETCH asks for. */
  get nextSampleCount(): number {
    return this.nextCount;
  }

  protected async connectSession(reconnecting: boolean): Promise<StreamInfo> {
    const c = this.config;
    const path = tcpPath(c.host, c.port);
    const port = await this.binding.open({ path, connectTimeoutMs: c.connectTimeoutMs, timers: this.timers });
    const client = new SpikeglxClient(port, this.timers, c.replyTimeoutMs);
    this.client = client;
    const stream = `${c.js} ${c.ip}`;
    this.version = (await client.query('GETVERSION'))[0] ?? '';
    const rateText = (await client.query(`GETSTREAMSAMPLERATE ${stream}`))[0] ?? '';
    const sampleRateHz = Number(rateText);
    if (!(sampleRateHz > 0)) throw protocolError(`${path}: GETSTREAMSAMPLERATE ${stream} answered ${JSON.stringify(rateText)}; expected a positive rate in Hz`);
    const all = parseAcqChans(c.js, (await client.query(`GETSTREAMACQCHANS ${stream}`))[0] ?? '', path);
    const plan = planFetch(all, c.channels, c.js, path);
    const uvPerCount = new Float32Array(plan.delivered.length);
    for (let i = 0; i < plan.delivered.length; i++) {
      const text = (await client.query(`GETSTREAMI16TOVOLTS ${stream} ${plan.delivered[i].index}`))[0] ?? '';
      const volts = Number(text);
      if (!(volts > 0) || !Number.isFinite(volts)) {
        throw protocolError(`${path}: GETSTREAMI16TOVOLTS ${stream} ${plan.delivered[i].index} answered ${JSON.stringify(text)}; expected volts per count > 0`);
      }
      uvPerCount[i] = volts * 1e6;
    }
    if (!this.plan) this.allocate(plan, sampleRateHz, uvPerCount);
    this.plan ??= plan;
    this.tracker ??= new DeviceCountTracker({ sampleRateHz, counterBits: 53 });
    if (reconnecting && this.haveCount) {
      // Resume from the last count unless SpikeGLX started a new run meanwhile (its count went back).
      const count = parseCount(await client.query(`GETSTREAMSAMPLECOUNT ${stream}`), path);
      if (count < this.nextCount) this.nextCount = count;
      this.tracker.markReconnect();
      this.resumeAfterReconnect = true;
    }
    return {
      streamId: this.streamId,
      sampleRateHz,
      channelCount: plan.delivered.length,
      channelNames: plan.delivered.map((ch) => ch.name),
      format: 'int16',
      uvPerCount,
      description: `SpikeGLX ${this.version} at ${path}, stream js=${c.js} ip=${c.ip}: ${plan.delivered.length} of ${all.length} channels at ${sampleRateHz} Hz`,
      totalFrames: null,
    };
  }

  private allocate(plan: FetchPlan, sampleRateHz: number, uvPerCount: Float32Array): void {
    const c = this.config;
    this.payload = new Uint8Array(c.maxSamplesPerFetch * plan.fetched.length * 2);
    this.payloadView = new Int16Array(this.payload.buffer);
    this.payloadData = new DataView(this.payload.buffer);
    this.block = {
      format: 'int16',
      streamId: this.streamId,
      firstSampleIndex: 0,
      sampleRateHz,
      channelCount: plan.delivered.length,
      frameCount: 0,
      samples: new Int16Array(c.maxSamplesPerFetch * plan.delivered.length),
      uvPerCount,
      deviceTimestamp: null,
      hostReceiveTimeNs: 0,
    };
    const prefix = new TextEncoder().encode(`FETCH ${c.js} ${c.ip} `);
    this.command.set(prefix);
    this.commandPrefixLength = prefix.length;
    this.commandSuffix = new TextEncoder().encode(` ${c.maxSamplesPerFetch} ${plan.subsetArgument}\n`);
    if (prefix.length + 20 + this.commandSuffix.length > this.command.length) {
      throw new OptoloopError('E_CONFIG_INVALID', `${STAGE}: the FETCH channel subset is too long (${plan.subsetArgument.length} characters)`, { stage: STAGE });
    }
  }

  protected async serveSession(): Promise<void> {
    const client = this.client;
    if (!client) throw new OptoloopError('E_INTERNAL', `${STAGE}: serve without a session`, { stage: STAGE });
    const stream = `${this.config.js} ${this.config.ip}`;
    const nMax = this.config.maxSamplesPerFetch;
    this.loopParked = false;
    try {
      for (;;) {
        if (this.closing) return;
        if (!this.running) {
          this.loopParked = true;
          this.wakeParked();
          await this.gate.promise;
          this.loopParked = false;
          continue;
        }
        if (this.needCount) {
          this.nextCount = parseCount(await client.query(`GETSTREAMSAMPLECOUNT ${stream}`), client.path);
          this.needCount = false;
          this.haveCount = true;
        }
        const frames = await this.fetchOnce(client, stream);
        this.syncStats();
        const waitMs = this.pacer.delayAfterMs(frames, nMax);
        if (waitMs > 0) await delay(this.pollTimers, waitMs).promise;
      }
    } finally {
      this.loopParked = true;
      this.wakeParked();
    }
  }

  private async fetchOnce(client: SpikeglxClient, stream: string): Promise<number> {
    const length = this.writeFetchCommand(this.nextCount);
    this.fetchCount++;
    const samples = await client.fetch(this.command.subarray(0, length), this.payload);
    if (samples === FETCH_TOO_LATE) {
      this.tooLateCount++;
      const count = parseCount(await client.query(`GETSTREAMSAMPLECOUNT ${stream}`), client.path);
      // The skipped samples show as a gap at the next block: the tracker counts them as dropped.
      if (count > this.nextCount) this.nextCount = count;
      return 0;
    }
    if (samples === 0) return 0;
    const plan = this.plan as FetchPlan;
    if (client.fetchChannels !== plan.fetched.length) {
      throw protocolError(`${client.path}: FETCH answered ${client.fetchChannels} channels; ${plan.fetched.length} were asked for (${plan.subsetArgument.slice(0, 40)})`);
    }
    const from = client.fetchFromCount;
    // Samples before the count we asked for were delivered already (never seen from SpikeGLX).
    const skip = from < this.nextCount ? Math.min(samples, this.nextCount - from) : 0;
    if (skip < samples) this.deliver(from + skip, skip, samples - skip);
    this.nextCount = Math.max(this.nextCount, from + samples);
    return samples;
  }

  private deliver(count: number, skipFrames: number, frames: number): void {
    const block = this.block as MutableInt16Block;
    const tracker = this.tracker as DeviceCountTracker;
    const plan = this.plan as FetchPlan;
    if (!this.running) return;
    const now = this.clock.nowNs();
    const first = tracker.place(count, frames, now);
    const gap = tracker.lastGapFrames;
    if (gap > 0) this.countDropped(gap, 1);
    const out = block.samples;
    const inChannels = plan.fetched.length;
    const outChannels = plan.delivered.length;
    const map = plan.fetchedToDelivered;
    const src = this.payloadView;
    const data = this.payloadData as DataView;
    for (let f = 0; f < frames; f++) {
      const inRow = (skipFrames + f) * inChannels;
      const outRow = f * outChannels;
      for (let c = 0; c < inChannels; c++) {
        const column = map[c];
        if (column < 0) continue;
        out[outRow + column] = HOST_IS_LITTLE_ENDIAN ? src[inRow + c] : data.getInt16((inRow + c) * 2, true);
      }
    }
    block.firstSampleIndex = first;
    block.frameCount = frames;
    block.deviceTimestamp = count;
    block.hostReceiveTimeNs = now;
    this.emit(block);
  }

  /** Writes `FETCH js ip <fromCt> nMax subset\n` into the reused command buffer; returns its length. */
  private writeFetchCommand(fromCount: number): number {
    const b = this.command;
    let at = this.commandPrefixLength;
    if (fromCount === 0) b[at++] = 0x30;
    else {
      let digits = 0;
      for (let v = fromCount; v >= 1; v = Math.floor(v / 10)) digits++;
      let v = fromCount;
      for (let i = digits - 1; i >= 0; i--) {
        b[at + i] = 0x30 + (v % 10);
        v = Math.floor(v / 10);
      }
      at += digits;
    }
    b.set(this.commandSuffix, at);
    return at + this.commandSuffix.length;
  }

  private syncStats(): void {
    const c = this.client;
    this.link.bytes = this.closedBytes + (c?.reader.bytesReceived ?? 0);
    this.link.garbageBytes = this.closedGarbage + (c?.garbageBytes ?? 0);
    this.link.resyncs = this.closedResyncs + (c?.resyncs ?? 0);
  }

  protected async startDevice(): Promise<void> {
    if (this.resumeAfterReconnect) {
      this.resumeAfterReconnect = false;
    } else {
      this.needCount = true;
      this.tracker?.markResume();
    }
    this.openGate();
  }

  protected async stopDevice(): Promise<void> {
    if (!this.client || this.loopParked) return;
    // The fetch loop parks at its gate after the FETCH in flight (or ends with the session).
    await new Promise<void>((resolve) => this.parkedWaiters.push(resolve));
  }

  protected async teardownSession(): Promise<void> {
    const client = this.client;
    this.syncStats();
    if (client) {
      this.closedBytes += client.reader.bytesReceived;
      this.closedGarbage += client.garbageBytes;
      this.closedResyncs += client.resyncs;
    }
    this.client = null;
    this.openGate();
    if (client) await client.close().catch(() => undefined);
  }

  private openGate(): void {
    const g = this.gate;
    this.gate = newGate();
    g.open();
  }

  private wakeParked(): void {
    const waiters = this.parkedWaiters;
    this.parkedWaiters = [];
    for (const w of waiters) w();
  }
}

function newGate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

function parseCount(lines: string[], path: string): number {
  const text = lines[0] ?? '';
  const count = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(count)) {
    throw protocolError(`${path}: GETSTREAMSAMPLECOUNT answered ${JSON.stringify(text)}; expected a sample count`);
  }
  return count;
}

function protocolError(message: string): OptoloopError {
  return new OptoloopError('E_DEVICE_PROTOCOL', message, { stage: STAGE, details: {} });
}
