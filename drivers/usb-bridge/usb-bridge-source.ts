import { Subject, type Observable } from 'rxjs';
import { systemClock, type MonotonicClock } from '../../src/core/clock.js';
import { OptoloopError } from '../../src/core/errors.js';
import type { MutableInt16Block, SampleBlock } from '../../src/core/sample-block.js';
import { createSourceCounters, type SampleSource, type SourceCounters, type SourceState, type StreamInfo } from '../../src/core/sample-source.js';
import type { DeviceStatus } from '../../src/core/status.js';
import { validateOptions } from '../../src/pipeline/options.js';
import { isReadCancelled, type Binding, type BindingPort } from '../binding/binding.js';
import { StreamPacketParser } from './stream-parser.js';
import { usbBridgeSourceSchema, type UsbBridgeSourceConfig } from './config.js';
import { UsbBinding, type UsbOpenOptions } from './usb-binding.js';

const STAGE = 'drivers/usb-bridge';

/** Starts and stops the device's stream over its control link (FirmwareBridgeSink provides this). */
export interface StreamControl {
  startStreaming(sampleRateHz: number, framesPerPacket: number, channelCount: number): Promise<unknown>;
  stopStreaming(): Promise<unknown>;
}

export interface UsbBridgeSourceDeps {
  readonly binding?: Binding<UsbOpenOptions>;
  readonly control?: StreamControl | null;
  readonly clock?: MonotonicClock;
}

/**
 * A `SampleSource` for the firmware bridge's streaming mode (firmware-bridge/PROTOCOL.md §9):
 * bulk IN transfers into buffers allocated at open, packets checked and reassembled across
 * transfers, one int16 block per packet. Gaps in the packet sequence are counted as drops and the
 * next block's firstSampleIndex jumps by the frames lost; damaged packets cost a counted resync.
 * Blocks are borrowed (core/sample-block.ts): one block object and one sample buffer, rewritten
 * for every packet.
 */
export class UsbBridgeSource implements SampleSource {
  readonly kind = 'usb-bridge';
  readonly config: UsbBridgeSourceConfig;
  readonly counters: SourceCounters = createSourceCounters();
  readonly parser = new StreamPacketParser();
  private readonly binding: Binding<UsbOpenOptions>;
  private readonly control: StreamControl | null;
  private readonly clock: MonotonicClock;
  private readonly subject = new Subject<SampleBlock>();
  readonly blocks$: Observable<SampleBlock> = this.subject.asObservable();
  private sourceState: SourceState = 'closed';
  private streamInfo: StreamInfo | null = null;
  private port: BindingPort | null = null;
  private readonly readBuffer: Uint8Array;
  private block: MutableInt16Block | null = null;
  private expectedSeq = 0;
  private nextFrameIndex = 0;
  private seenPacket = false;
  private lastError: OptoloopError | null = null;
  private reading: Promise<void> | null = null;

  constructor(config: Partial<UsbBridgeSourceConfig> & { readonly vendorId: number; readonly productId: number; readonly channelCount: number; readonly sampleRateHz: number }, deps: UsbBridgeSourceDeps = {}) {
    this.config = validateOptions(usbBridgeSourceSchema, { kind: 'usb-bridge', ...config }, STAGE);
    this.binding = deps.binding ?? new UsbBinding();
    this.control = deps.control ?? null;
    this.clock = deps.clock ?? systemClock;
    this.readBuffer = new Uint8Array(this.config.transferSize);
  }

  get state(): SourceState {
    return this.sourceState;
  }
  get info(): StreamInfo | null {
    return this.streamInfo;
  }

  async open(): Promise<StreamInfo> {
    if (this.sourceState !== 'closed') throw this.stateError('open');
    this.port = await this.openPort();
    const c = this.config;
    const uvPerCount = new Float32Array(c.channelCount).fill(c.uvPerCount);
    this.streamInfo = {
      streamId: c.streamId ?? `usb-bridge:${c.vendorId.toString(16)}:${c.productId.toString(16)}`,
      sampleRateHz: c.sampleRateHz,
      channelCount: c.channelCount,
      channelNames: Array.from({ length: c.channelCount }, (_, i) => `AI${i}`),
      format: 'int16',
      uvPerCount,
      description: `optoloop firmware bridge stream, USB ${this.port.path}, ${c.channelCount} channels at ${c.sampleRateHz} Hz`,
      totalFrames: null,
    };
    const maxFrames = Math.floor((4096 - 30) / (2 * c.channelCount));
    this.block = {
      format: 'int16',
      streamId: this.streamInfo.streamId,
      firstSampleIndex: 0,
      sampleRateHz: c.sampleRateHz,
      channelCount: c.channelCount,
      frameCount: 0,
      samples: new Int16Array(maxFrames * c.channelCount),
      uvPerCount,
      deviceTimestamp: null,
      hostReceiveTimeNs: 0,
    };
    this.sourceState = 'opened';
    return this.streamInfo;
  }

  async start(): Promise<void> {
    if (this.sourceState !== 'opened' && this.sourceState !== 'stopped') throw this.stateError('start');
    if (!this.port) this.port = await this.openPort();
    this.parser.reset();
    this.expectedSeq = 0;
    this.nextFrameIndex = 0;
    this.seenPacket = false;
    this.sourceState = 'running';
    this.reading = this.readLoop(this.port);
    if (this.control) await this.control.startStreaming(this.config.sampleRateHz, this.config.framesPerPacket, this.config.channelCount);
  }

  async stop(): Promise<void> {
    if (this.sourceState !== 'running') throw this.stateError('stop');
    this.sourceState = 'stopped';
    if (this.control) await this.control.stopStreaming().catch((error: unknown) => (this.lastError = error as OptoloopError));
    const port = this.port;
    this.port = null;
    await port?.close();
    await this.reading;
  }

  async close(): Promise<void> {
    if (this.sourceState === 'running') await this.stop();
    const port = this.port;
    this.port = null;
    await port?.close();
    this.sourceState = 'closed';
    this.subject.complete();
  }

  status(): DeviceStatus {
    return {
      name: this.streamInfo?.description ?? 'usb-bridge',
      kind: this.kind,
      state: this.sourceState === 'failed' ? 'failed' : this.sourceState === 'running' ? 'connected' : 'disconnected',
      bytes: this.parser.counters.bytes,
      blocks: this.counters.blocksDelivered,
      resyncs: this.parser.counters.resyncs,
      drops: this.counters.blocksDropped,
      lastError: this.lastError ? this.lastError.toString() : null,
    };
  }

  private openPort(): Promise<BindingPort> {
    const c = this.config;
    return this.binding.open({
      path: c.path,
      vendorId: c.vendorId,
      productId: c.productId,
      interfaceNumber: c.interfaceNumber,
      endpointAddress: c.endpointAddress,
      transferSize: c.transferSize,
      transfersInFlight: c.transfersInFlight,
    });
  }

  private async readLoop(port: BindingPort): Promise<void> {
    const buffer = this.readBuffer;
    for (;;) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await port.read(buffer, 0, buffer.length));
      } catch (error) {
        if (isReadCancelled(error) || this.sourceState !== 'running') return;
        this.fail(error instanceof OptoloopError ? error : new OptoloopError('E_DEVICE_DISCONNECTED', String(error), { stage: STAGE, cause: error }));
        return;
      }
      const receiveTimeNs = this.clock.nowNs();
      let at = 0;
      while (at < bytesRead) {
        at = this.parser.feed(buffer, at, bytesRead);
        if (this.parser.ready && !this.deliver(receiveTimeNs)) return;
      }
      // More packets may already sit in the parser's buffer: drain them without new input.
      for (;;) {
        this.parser.feed(buffer, bytesRead, bytesRead);
        if (!this.parser.ready) break;
        if (!this.deliver(receiveTimeNs)) return;
      }
    }
  }

  private deliver(receiveTimeNs: number): boolean {
    const p = this.parser;
    const block = this.block!;
    const channels = this.config.channelCount;
    if (p.channelCount !== channels) {
      this.fail(
        new OptoloopError('E_BLOCK_MISMATCH', `${this.streamInfo!.streamId}: packet ${p.packetSeq} has ${p.channelCount} channels, the stream was opened with ${channels}`, {
          stage: STAGE,
          details: { packetSeq: p.packetSeq, channelCount: p.channelCount, expected: channels },
        }),
      );
      return false;
    }
    if (this.seenPacket && p.packetSeq !== this.expectedSeq) {
      this.counters.blocksDropped += (p.packetSeq - this.expectedSeq) >>> 0;
    } else if (!this.seenPacket && p.packetSeq !== 0) {
      this.counters.blocksDropped += p.packetSeq;
    }
    if (p.firstFrameIndex > this.nextFrameIndex) this.counters.framesDropped += p.firstFrameIndex - this.nextFrameIndex;
    this.seenPacket = true;
    this.expectedSeq = (p.packetSeq + 1) >>> 0;
    this.nextFrameIndex = p.firstFrameIndex + p.frameCount;
    const n = p.frameCount * channels;
    const bytes = p.buffer;
    const samples = block.samples;
    let o = p.samplesOffset;
    for (let i = 0; i < n; i++, o += 2) samples[i] = (bytes[o] | (bytes[o + 1] << 8)) << 16 >> 16;
    block.firstSampleIndex = p.firstFrameIndex;
    block.frameCount = p.frameCount;
    block.deviceTimestamp = p.deviceTimeUs;
    block.hostReceiveTimeNs = receiveTimeNs;
    this.counters.blocksDelivered++;
    this.counters.framesDelivered += p.frameCount;
    this.subject.next(block);
    return true;
  }

  private fail(error: OptoloopError): void {
    this.lastError = error;
    this.sourceState = 'failed';
    const port = this.port;
    this.port = null;
    void port?.close().catch(() => undefined);
    this.subject.error(error);
  }

  private stateError(what: string): OptoloopError {
    return new OptoloopError('E_SOURCE_STATE', `usb-bridge: cannot ${what} while ${this.sourceState}`, { stage: STAGE });
  }
}
