import { systemClock, type MonotonicClock } from '../../src/core/clock.js';
import { OptoloopError } from '../../src/core/errors.js';
import type { MutableInt16Block } from '../../src/core/sample-block.js';
import type { StreamInfo } from '../../src/core/sample-source.js';
import { isReadCancelled, type Binding, type BindingPort } from '../binding/binding.js';
import { TcpBinding, tcpPath, type TcpOpenOptions } from '../binding/tcp-binding.js';
import { DeviceCountTracker } from '../tcp-common/device-count-tracker.js';
import { NetworkSampleSource } from '../tcp-common/network-source.js';
import { Watchdog } from '../tcp-common/watchdog.js';
import type { IntanRhxSourceConfig } from './intan-rhx-config.js';
import { RHX_BAND_PARAMETER, planRhxChannels, type RhxChannelPlan } from './rhx-channel-plan.js';
import { RhxCommandClient } from './rhx-command-client.js';
import { RHX_AMPLIFIER_UV_PER_COUNT, RHX_FRAMES_PER_BLOCK, RhxWaveformParser } from './rhx-waveform-parser.js';
import { type Timers, systemTimers } from '../binding/timers.js';
import { delay } from '../tcp-common/delay.js';

export interface IntanRhxSourceDeps {
  readonly binding?: Binding<TcpOpenOptions>;
  /** Timers: command and data timeouts, reconnection back-off. */
  readonly timers?: Timers;
  /** Host receive timestamps of blocks. */
  readonly clock?: MonotonicClock;
}

const STAGE = 'drivers/intan-rhx';

/**
 * Intan RHX as a SampleSource, over RHX's TCP interface (protocols §1).
 *
 * `open()` connects the command port and runs the documented handshake: `set RunMode Stop` →
 * `execute ClearAllDataOutputs` → enable each configured channel's band outputs →
 * `set TCPNumberDataBlocksPerWrite n` → `get SampleRateHertz` → `execute
 * ConnectTCPWaveformDataOutput` → connect the waveform port. `start()` sends `set RunMode Run`,
 * `stop()` `set RunMode Stop`; `close()` stops and closes both sockets.
 *
 * Each 128-frame RHX block becomes one int16 block (µV = 0.195 × count) whose deviceTimestamp is
 * the block's first frame timestamp; timestamp gaps are counted as dropped frames and
 * firstSampleIndex jumps by them (u32 wrap handled, see DeviceCountTracker). If the connection
 * breaks, the whole frames already received are delivered, the error goes out on `errors$`, and the
 * session is rebuilt with the same handshake (and `RunMode Run` if running).
 */
export class IntanRhxSource extends NetworkSampleSource {
  readonly kind = 'intan-rhx';
  readonly plan: RhxChannelPlan;
  private readonly binding: Binding<TcpOpenOptions>;
  private readonly clock: MonotonicClock;
  private readonly watchdog: Watchdog;
  private countTracker: DeviceCountTracker | null = null;
  private command: RhxCommandClient | null = null;
  private dataPort: BindingPort | null = null;
  private parser: RhxWaveformParser;
  private block: MutableInt16Block | null = null;
  private dataAbort: OptoloopError | null = null;
  private sampleRateHz = 0;
  private dataBytes = 0;
  /** Bytes and garbage of command sessions already closed. */
  private closedCommandBytes = 0;
  private closedCommandGarbage = 0;

  constructor(
    readonly config: IntanRhxSourceConfig,
    deps: IntanRhxSourceDeps = {},
  ) {
    super(STAGE, config.reconnect, deps.timers ?? systemTimers);
    this.binding = deps.binding ?? new TcpBinding();
    this.clock = deps.clock ?? systemClock;
    this.watchdog = new Watchdog(this.timers);
    this.plan = planRhxChannels(config.channels, config.bands);
    this.parser = new RhxWaveformParser(this.plan.wordToOutput, this.plan.outputs.length);
  }

  /** Bytes received on the waveform socket over every session. */
  get waveformBytes(): number {
    return this.dataBytes;
  }

  get streamId(): string {
    return `intan-rhx@${tcpPath(this.config.host, this.config.commandPort)}`;
  }

  protected async connectSession(reconnecting: boolean): Promise<StreamInfo> {
    const c = this.config;
    const commandPath = tcpPath(c.host, c.commandPort);
    const port = await this.binding.open({ path: commandPath, connectTimeoutMs: c.connectTimeoutMs, timers: this.timers });
    const command = new RhxCommandClient(port, this.timers, c.commandTimeoutMs, STAGE);
    this.command = command;
    await command.execute('set RunMode Stop');
    await command.execute('execute ClearAllDataOutputs');
    for (const channel of c.channels) {
      for (const band of c.bands) await command.execute(`set ${channel.toUpperCase()}.${RHX_BAND_PARAMETER[band]} true`);
    }
    await command.execute(`set TCPNumberDataBlocksPerWrite ${c.blocksPerWrite}`);
    const rateText = await command.execute('get SampleRateHertz');
    const sampleRateHz = parseRhxSampleRate(rateText, commandPath);
    await command.execute('execute ConnectTCPWaveformDataOutput');
    this.dataPort = await this.openDataPort();
    this.sampleRateHz = sampleRateHz;
    if (!this.countTracker) this.countTracker = new DeviceCountTracker({ sampleRateHz, counterBits: 32 });
    if (reconnecting) this.countTracker.markReconnect();
    this.parser.reset();
    this.dataAbort = null;
    const outputs = this.plan.outputs;
    const uvPerCount = new Float32Array(outputs.length).fill(RHX_AMPLIFIER_UV_PER_COUNT);
    if (!this.block) {
      this.block = {
        format: 'int16',
        streamId: this.streamId,
        firstSampleIndex: 0,
        sampleRateHz,
        channelCount: outputs.length,
        frameCount: 0,
        samples: this.parser.samples,
        uvPerCount,
        deviceTimestamp: null,
        hostReceiveTimeNs: 0,
      };
    }
    return {
      streamId: this.streamId,
      sampleRateHz,
      channelCount: outputs.length,
      channelNames: outputs.map((o) => o.name),
      format: 'int16',
      uvPerCount,
      description: `Intan RHX at ${commandPath} (waveform port ${c.dataPort}): ${c.channels.length} channel(s) × ${c.bands.join('/')} at ${sampleRateHz} Hz, ${c.blocksPerWrite} block(s) per write`,
      totalFrames: null,
    };
  }

  /** RHX listens on the waveform port once it has handled ConnectTCPWaveformDataOutput; allow it a moment. */
  private async openDataPort(): Promise<BindingPort> {
    const c = this.config;
    const path = tcpPath(c.host, c.dataPort);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.binding.open({ path, connectTimeoutMs: c.connectTimeoutMs, timers: this.timers });
      } catch (error) {
        if (attempt >= 5 || !(error instanceof OptoloopError) || error.code !== 'E_DEVICE_NOT_FOUND') throw error;
        await delay(this.timers, 20 * attempt).promise;
      }
    }
  }

  protected async serveSession(): Promise<void> {
    const command = this.command;
    if (!command || !this.dataPort) throw new OptoloopError('E_INTERNAL', `${STAGE}: serve without a session`, { stage: STAGE });
    await Promise.race([this.readWaveforms(this.dataPort), command.failed]);
  }

  private async readWaveforms(port: BindingPort): Promise<void> {
    const parser = this.parser;
    try {
      for (;;) {
        const { bytesRead } = await port.read(parser.buffer, parser.writeOffset, parser.writableBytes);
        parser.commit(bytesRead);
        this.dataBytes += bytesRead;
        this.watchdog.kick();
        while (parser.next()) this.deliver(parser.framesReady);
        this.syncParserStats();
      }
    } catch (error) {
      // Whatever whole frames arrived before the break are data: deliver them.
      const frames = parser.flushPartial();
      if (frames > 0) this.deliver(frames);
      this.syncParserStats();
      if (this.dataAbort && isReadCancelled(error)) throw this.dataAbort;
      throw error;
    }
  }

  private deliver(frames: number): void {
    const block = this.block;
    const tracker = this.countTracker;
    if (!block || !tracker || !this.running) return;
    const now = this.clock.nowNs();
    const timestamp = this.parser.blockTimestamp;
    const first = tracker.place(timestamp, frames, now);
    const gap = tracker.lastGapFrames;
    if (gap > 0) this.countDropped(gap, Math.max(1, Math.round(gap / RHX_FRAMES_PER_BLOCK)));
    block.firstSampleIndex = first;
    block.frameCount = frames;
    block.deviceTimestamp = timestamp;
    block.hostReceiveTimeNs = now;
    this.emit(block);
  }

  private syncParserStats(): void {
    const command = this.command;
    this.link.bytes = this.dataBytes + this.closedCommandBytes + (command?.bytesReceived ?? 0);
    this.link.garbageBytes = this.parser.garbageBytes + this.closedCommandGarbage + (command?.garbageBytes ?? 0);
    this.link.resyncs = this.parser.resyncs;
  }

  protected async startDevice(): Promise<void> {
    this.countTracker?.markResume();
    await this.requireCommand().execute('set RunMode Run');
    const c = this.config;
    const writeIntervalMs = ((c.blocksPerWrite * RHX_FRAMES_PER_BLOCK) / this.sampleRateHz) * 1000;
    this.watchdog.arm(c.dataTimeoutMs + writeIntervalMs, () => {
      this.dataAbort = new OptoloopError(
        'E_DEVICE_TIMEOUT',
        `${tcpPath(c.host, c.dataPort)}: no waveform data for ${Math.round(c.dataTimeoutMs + writeIntervalMs)} ms while RHX should be running`,
        { stage: STAGE, details: { path: tcpPath(c.host, c.dataPort), timeoutMs: c.dataTimeoutMs + writeIntervalMs } },
      );
      void this.dataPort?.close();
    });
  }

  protected async stopDevice(): Promise<void> {
    this.watchdog.disarm();
    await this.requireCommand().execute('set RunMode Stop');
  }

  protected async teardownSession(): Promise<void> {
    this.watchdog.disarm();
    if (this.command) {
      this.closedCommandBytes += this.command.bytesReceived;
      this.closedCommandGarbage += this.command.garbageBytes;
    }
    const command = this.command;
    const data = this.dataPort;
    this.command = null;
    this.dataPort = null;
    this.syncParserStats();
    await Promise.all([command?.close().catch(() => undefined), data?.close().catch(() => undefined)]);
  }

  private requireCommand(): RhxCommandClient {
    if (!this.command) {
      throw new OptoloopError('E_DEVICE_DISCONNECTED', `${STAGE}: not connected to RHX`, { stage: STAGE });
    }
    return this.command;
  }
}

/** RHX reports its rate as an integer; 3333 stands for 10000/3 Hz (protocols §1.2). */
export function parseRhxSampleRate(text: string | null, path: string): number {
  const value = Number(text);
  if (text === null || !Number.isFinite(value) || value < 1000 || value > 30000) {
    throw new OptoloopError('E_DEVICE_PROTOCOL', `${path}: "get SampleRateHertz" answered ${JSON.stringify(text)}; expected a rate from 1000 to 30000 Hz`, {
      stage: STAGE,
      details: { path, reply: text },
    });
  }
  return value === 3333 ? 10000 / 3 : value;
}
