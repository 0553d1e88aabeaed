/**
 * OpenBCI Cyton (and Cyton + daisy) as a SampleSource, through its USB radio dongle.
 *
 * open: `s` (in case it was left streaming), `v` soft reset and its banner (ending `$$$`; a reply
 * starting `Failure` means the dongle answers but the board is off), `c`/`C` for 8/16 channels,
 * `d` defaults, one `x…X` per channel whose settings differ from the defaults (the gain of each is
 * tracked: µV = count × 4.5 V / gain / (2^23 − 1)), `<`/`>` time-stamping. start: `b`; stop: `s`
 * (no confirmation over the dongle; packets still in flight after `stop()` are discarded).
 *
 * Blocks are float32 µV: a 24-bit count × its channel's scale, rounded once to float32. Gaps in
 * the packet counter are counted and make `firstSampleIndex` jump (see frame-assembler.ts).
 * A silent board while streaming (`silenceTimeoutMs`) and a vanished dongle both reopen the port
 * and re-initialise the board, then streaming resumes; everything decoded before is delivered.
 */
import { Observable, Subject } from 'rxjs';
import { OptoloopError } from '../../src/core/errors.js';
import type { SampleBlock } from '../../src/core/sample-block.js';
import { createSourceCounters, type SampleSource, type SourceCounters, type SourceState, type StreamInfo } from '../../src/core/sample-source.js';
import type { DeviceStatus } from '../../src/core/status.js';
import type { BindingPort } from '../binding/binding.js';
import { reconnectOptions } from '../binding/config.js';
import { DeviceConnection, createLinkCounters, type ConnectionEvent } from '../binding/device-connection.js';
import { SerialBinding } from '../binding/serial-binding.js';
import { systemTimers, type TimerHandle, type Timers } from '../binding/timers.js';
import type { OpenBciSourceConfig } from './config.js';
import { CytonFrameAssembler } from './frame-assembler.js';
import {
  CMD_DEFAULTS,
  CMD_MODE_16,
  CMD_MODE_8,
  CMD_SOFT_RESET,
  CMD_STREAM_START,
  CMD_STREAM_STOP,
  CMD_TIMESTAMP_OFF,
  CMD_TIMESTAMP_ON,
  DEFAULT_CHANNEL_SETTINGS,
  channelSettingsCommand,
  uvPerCount,
  type ChannelSettings,
} from './protocol.js';
import { CytonStreamParser } from './stream-parser.js';

const STAGE = 'drivers/openbci';
/** After `s`, the line must stay quiet this long before stop() returns (packets still in flight are dropped). */
const STOP_QUIET_MS = 50;
/** …and stop() gives up waiting for quiet after this long. */
const STOP_MAX_WAIT_MS = 1000;

export interface CytonSourceOptions {
  readonly config: OpenBciSourceConfig;
  /** Device name for logs and the status (default `openbci`). */
  readonly name?: string;
  /** Stream id stamped on every block (default `openbci`). */
  readonly streamId?: string;
  /** How to reach the port; default the serial binding at `config.port`. */
  readonly openPort?: () => Promise<BindingPort>;
  readonly timers?: Timers;
  readonly openAttempts?: number;
  readonly log?: { warn(message: string): void };
}

interface PendingReply {
  readonly command: string;
  readonly accept: (text: string) => boolean;
  readonly resolve: (text: string) => void;
  readonly reject: (error: OptoloopError) => void;
  readonly timer: TimerHandle;
}

const encoder = new TextEncoder();

export class CytonSource implements SampleSource {
  readonly kind = 'openbci';
  readonly name: string;
  readonly counters: SourceCounters = createSourceCounters();
  readonly blocks$: Observable<SampleBlock>;
  readonly connection: DeviceConnection;
  /** The banner of the last soft reset, and what it told. */
  banner: string | null = null;
  firmwareVersion: string | null = null;
  daisyDetected = false;

  private readonly blocks = new Subject<SampleBlock>();
  private readonly config: OpenBciSourceConfig;
  private readonly timers: Timers;
  private readonly parser: CytonStreamParser;
  private readonly assembler: CytonFrameAssembler;
  /** µV per count per channel, live: the assembler reads it for every frame. */
  private readonly scale = new Float64Array(16);
  private readonly gains: number[] = new Array<number>(16).fill(DEFAULT_CHANNEL_SETTINGS.gain);
  private readonly streamId: string;
  private sourceState: SourceState = 'closed';
  private streamInfo: StreamInfo | null = null;
  private pendingReply: PendingReply | null = null;
  /** True between start() and stop(): a reconnection then restarts the stream. */
  private streaming = false;
  /** Timers-clock time of the last feed, to tell when the line went quiet after `s`. */
  private lastFeedNs = 0;

  constructor(options: CytonSourceOptions) {
    const config = options.config;
    this.config = config;
    this.name = options.name ?? 'openbci';
    this.streamId = options.streamId ?? 'openbci';
    this.timers = options.timers ?? systemTimers;
    this.blocks$ = this.blocks.asObservable();
    this.setGains(new Array<number>(16).fill(DEFAULT_CHANNEL_SETTINGS.gain));
    const linkCounters = createLinkCounters();
    this.assembler = new CytonFrameAssembler({
      streamId: this.streamId,
      daisy: config.channels === 16,
      maxBlockFrames: config.maxBlockFrames,
      uvPerCount: this.scale,
      sourceCounters: this.counters,
      linkCounters,
      emit: (block) => this.blocks.next(block),
    });
    const assembler = this.assembler;
    this.parser = new CytonStreamParser(linkCounters, {
      onPacket: (sampleNumber, counts, stopByte, packet, timeNs) => assembler.onPacket(sampleNumber, counts, stopByte, packet, timeNs),
      onText: (text) => this.onText(text),
      onFeedEnd: (timeNs) => {
        this.lastFeedNs = timeNs;
        assembler.flush();
      },
    });
    const openPort = options.openPort ?? (() => new SerialBinding().open({ path: config.port, baudRate: config.baudRate }));
    this.connection = new DeviceConnection({
      name: this.name,
      kind: 'openbci',
      stage: STAGE,
      open: openPort,
      parser: this.parser,
      counters: linkCounters,
      onOpen: (link, isReconnect) => this.initialise(link, isReconnect),
      timers: this.timers,
      openAttempts: options.openAttempts,
      reconnect: reconnectOptions(config.reconnect),
      silenceTimeoutMs: config.silenceTimeoutMs,
      silenceAction: 'reconnect',
      log: options.log,
    });
    this.connection.events$.subscribe((event) => {
      if (event.type === 'state' && event.state === 'failed' && (this.sourceState === 'running' || this.sourceState === 'stopped' || this.sourceState === 'opened')) {
        this.sourceState = 'failed';
        this.blocks.error(
          new OptoloopError('E_DEVICE_DISCONNECTED', `${this.name}: the Cyton on ${config.port} is gone for good (${this.connection.lastError ?? 'no detail'})`, {
            stage: STAGE,
          }),
        );
      }
    });
  }

  get state(): SourceState {
    return this.sourceState;
  }

  get info(): StreamInfo | null {
    return this.streamInfo;
  }

  get events$(): Observable<ConnectionEvent> {
    return this.connection.events$;
  }

  status(): DeviceStatus & { readonly reconnects: number } {
    return this.connection.status();
  }

  /** The gain each channel is set to (tracked from the settings commands sent). */
  get channelGains(): readonly number[] {
    return this.gains.slice(0, this.config.channels);
  }

  async open(): Promise<StreamInfo> {
    if (this.sourceState !== 'closed') throw this.stateError('open');
    try {
      await this.connection.open();
    } catch (error) {
      this.sourceState = 'failed';
      throw error;
    }
    const channelCount = this.assembler.channelCount;
    this.streamInfo = {
      streamId: this.streamId,
      sampleRateHz: this.assembler.frameRateHz,
      channelCount,
      channelNames: Array.from({ length: channelCount }, (_, i) => `EXG${i + 1}`),
      format: 'float32',
      uvPerCount: null,
      description:
        `OpenBCI Cyton${channelCount === 16 ? ' + daisy' : ''} (firmware ${this.firmwareVersion ?? 'unknown'}) on ${this.config.port}, ` +
        `${this.assembler.frameRateHz} Hz, gains ${this.channelGains.join('/')}` +
        (this.config.timestamps ? ', deviceTimestamp = board ms' : ''),
      totalFrames: null,
    };
    this.sourceState = 'opened';
    return this.streamInfo;
  }

  async start(): Promise<void> {
    if (this.sourceState !== 'opened' && this.sourceState !== 'stopped') throw this.stateError('start');
    this.parser.setMode('packets');
    this.assembler.beginSegment(false);
    this.streaming = true;
    this.sourceState = 'running';
    await this.connection.write(encoder.encode(CMD_STREAM_START));
    this.connection.expectData(true);
  }

  /**
   * Sends `s` and returns once the line has been quiet for 50 ms (at most 1 s): packets the board
   * sent before it obeyed are dropped here, so that none of them is taken for the next start's.
   */
  async stop(): Promise<void> {
    if (this.sourceState !== 'running') throw this.stateError('stop');
    this.streaming = false;
    this.assembler.flush();
    this.parser.setMode('discard');
    this.connection.expectData(false);
    this.sourceState = 'stopped';
    await this.connection.write(encoder.encode(CMD_STREAM_STOP)).catch(() => undefined);
    const clock = this.timers.clock;
    const startedNs = clock.nowNs();
    this.lastFeedNs = Math.max(this.lastFeedNs, startedNs);
    while (this.connection.isConnected && clock.nowNs() - startedNs < STOP_MAX_WAIT_MS * 1e6) {
      const quietForMs = (clock.nowNs() - this.lastFeedNs) / 1e6;
      if (quietForMs >= STOP_QUIET_MS) return;
      await new Promise<void>((resolve) => this.timers.setTimeout(resolve, STOP_QUIET_MS - quietForMs));
    }
    if (this.connection.isConnected) {
      this.connection.warn(`${this.name}: the Cyton on ${this.config.port} still sends data ${STOP_MAX_WAIT_MS} ms after "s"`);
    }
  }

  async close(): Promise<void> {
    if (this.sourceState === 'closed' && !this.connection.isConnected) {
      await this.connection.close();
      this.blocks.complete();
      return;
    }
    if (this.streaming && this.connection.isConnected) await this.connection.write(encoder.encode(CMD_STREAM_STOP)).catch(() => undefined);
    this.streaming = false;
    this.assembler.flush();
    this.connection.expectData(false);
    this.failPendingReply(new OptoloopError('E_DEVICE_DISCONNECTED', `${this.name}: closed`, { stage: STAGE }));
    await this.connection.close();
    if (this.sourceState !== 'failed') this.blocks.complete();
    this.sourceState = 'closed';
  }

  // ---------------------------------------------------------------------------------------------

  /** Soft reset, channel mode, defaults, channel settings, time-stamping; restarts the stream after an outage. */
  private async initialise(link: DeviceConnection, isReconnect: boolean): Promise<void> {
    link.onLoss((error) => this.failPendingReply(error));
    this.parser.setMode('text');
    await link.write(encoder.encode(CMD_STREAM_STOP));
    const banner = await this.command(link, CMD_SOFT_RESET, (t) => /OpenBCI|Failure/.test(t));
    if (/^\s*Failure/.test(banner)) {
      throw new OptoloopError(
        'E_DEVICE_NOT_FOUND',
        `${this.name}: the dongle on ${this.config.port} answers but the Cyton board does not (off, out of range, or on another radio channel): "${banner.trim()}"`,
        { stage: STAGE, details: { port: this.config.port, reply: banner.trim() } },
      );
    }
    this.banner = banner;
    this.daisyDetected = /On Daisy ADS1299/i.test(banner);
    this.firmwareVersion = /Firmware:\s*(v[\d.]+)/.exec(banner)?.[1] ?? null;
    if (this.config.channels === 16 && !this.daisyDetected) {
      const reply = await this.command(link, CMD_MODE_16, (t) => /daisy/i.test(t));
      if (!/16\s*$/.test(reply)) {
        throw new OptoloopError(
          'E_DEVICE_REFUSED',
          `${this.name}: configured for 16 channels but the Cyton on ${this.config.port} has no daisy module (it answered "${reply.trim()}"); set channels: 8 or fit the daisy`,
          { stage: STAGE, details: { reply: reply.trim() } },
        );
      }
    } else if (this.config.channels === 8 && this.daisyDetected) {
      await this.command(link, CMD_MODE_8, (t) => /daisy/i.test(t));
    }
    await this.command(link, CMD_DEFAULTS, (t) => /default/i.test(t));
    const gains = new Array<number>(16).fill(DEFAULT_CHANNEL_SETTINGS.gain);
    for (let channel = 1; channel <= this.config.channels; channel++) {
      const settings: ChannelSettings = { ...this.config.channelSettings, gain: this.config.gains?.[channel - 1] ?? this.config.channelSettings.gain };
      if (sameSettings(settings, DEFAULT_CHANNEL_SETTINGS)) continue;
      const command = channelSettingsCommand(channel, settings);
      const reply = await this.command(link, command, (t) => /Success|Failure/.test(t));
      if (!/Success/.test(reply)) {
        throw new OptoloopError('E_DEVICE_REFUSED', `${this.name}: the Cyton refused channel ${channel} settings ${command}: "${reply.trim()}"`, {
          stage: STAGE,
          details: { channel, command, reply: reply.trim() },
        });
      }
      gains[channel - 1] = settings.gain;
    }
    this.setGains(gains);
    await this.command(link, this.config.timestamps ? CMD_TIMESTAMP_ON : CMD_TIMESTAMP_OFF, (t) => /Time stamp/i.test(t));
    if (isReconnect && this.streaming) {
      this.parser.setMode('packets');
      this.assembler.beginSegment(true);
      await link.write(encoder.encode(CMD_STREAM_START));
    }
  }

  private setGains(gains: number[]): void {
    for (let c = 0; c < 16; c++) {
      this.gains[c] = gains[c];
      this.scale[c] = uvPerCount(gains[c]);
    }
  }

  /** Sends a command and waits for the first `$$$` reply that `accept` recognises. */
  private command(link: DeviceConnection, command: string, accept: (text: string) => boolean): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        this.pendingReply = null;
        reject(
          new OptoloopError('E_DEVICE_TIMEOUT', `${this.name}: no reply to "${command}" from ${this.config.port} within ${this.config.initTimeoutMs} ms`, {
            stage: STAGE,
            details: { command, timeoutMs: this.config.initTimeoutMs },
          }),
        );
      }, this.config.initTimeoutMs);
      this.pendingReply = { command, accept, resolve, reject, timer };
      link.write(encoder.encode(command)).catch((error: unknown) => {
        this.failPendingReply(error instanceof OptoloopError ? error : new OptoloopError('E_DEVICE_DISCONNECTED', String(error), { stage: STAGE }));
      });
    });
  }

  private onText(text: string): void {
    const pending = this.pendingReply;
    if (!pending || !pending.accept(text)) return; // a late or unrelated reply
    this.pendingReply = null;
    this.timers.clearTimeout(pending.timer);
    pending.resolve(text);
  }

  private failPendingReply(error: OptoloopError): void {
    const pending = this.pendingReply;
    if (!pending) return;
    this.pendingReply = null;
    this.timers.clearTimeout(pending.timer);
    pending.reject(error);
  }

  private stateError(action: string): OptoloopError {
    return new OptoloopError('E_SOURCE_STATE', `${this.name}: cannot ${action} while the source is ${this.sourceState}`, { stage: STAGE });
  }
}

function sameSettings(a: ChannelSettings, b: ChannelSettings): boolean {
  return a.gain === b.gain && a.input === b.input && a.bias === b.bias && a.srb2 === b.srb2 && a.srb1 === b.srb1 && a.powerDown === b.powerDown;
}
