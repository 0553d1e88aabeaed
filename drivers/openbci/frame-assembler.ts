/**
 * Cyton packets → sample blocks (float32 µV, frame-major), with gaps made visible.
 *
 * Sample numbers are 8-bit and wrap; they are unwrapped into a running packet count u (a jump of
 * d ≡ sample-number difference mod 256, 1 ≤ d ≤ 256). A frame's device index is u for 8 channels;
 * with the daisy module (16 channels) the board's packets carry odd sample numbers and the
 * daisy's even ones (protocols.md §3.3), so frame f joins packet u = 2f + 1 (channels 1–8) with
 * packet u = 2f + 2 (channels 9–16); packet 0 is the invalid first average and is skipped, and a
 * half whose partner never came is discarded. The block's `firstSampleIndex` is the frame's index
 * in the stream; whenever frames are missing it jumps by their number and the counters grow
 * (`framesDropped`, one `blocksDropped` per gap, the link's `drops`).
 *
 * A segment starts at every `start()` and after every reconnection. Across a stop/start the index
 * simply continues (nothing was expected meanwhile); across a reconnection the frames the board
 * sent while we could not hear it are estimated from the host time elapsed, since its counter
 * restarts.
 *
 * Blocks are emitted at the end of each read (`flush`), when full, and before a gap. The block is
 * borrowed: rewritten for the next emission.
 */
import type { MutableFloat32Block } from '../../src/core/sample-block.js';
import type { Float32SampleBlock } from '../../src/core/sample-block.js';
import type { SourceCounters } from '../../src/core/sample-source.js';
import type { LinkCounters } from '../binding/device-connection.js';
import { PACKET_RATE_HZ } from './protocol.js';

export interface FrameAssemblerOptions {
  readonly streamId: string;
  readonly daisy: boolean;
  readonly maxBlockFrames: number;
  /** µV per count per channel; read at every frame, so gain changes apply from the next frame. */
  readonly uvPerCount: Float64Array;
  readonly sourceCounters: SourceCounters;
  readonly linkCounters: LinkCounters;
  readonly emit: (block: Float32SampleBlock) => void;
}

export class CytonFrameAssembler {
  readonly channelCount: number;
  readonly frameRateHz: number;

  private readonly block: MutableFloat32Block;
  private readonly daisy: boolean;
  private readonly maxFrames: number;
  private readonly scale: Float64Array;
  private readonly sourceCounters: SourceCounters;
  private readonly linkCounters: LinkCounters;
  private readonly emit: (block: Float32SampleBlock) => void;

  /** Unwrapped packet count of the last packet of this segment; −1 before the first. */
  private lastU = -1;
  private segmentStarted = false;
  private estimateGap = false;
  /** streamIndex = segmentOffset + device frame. */
  private segmentOffset = 0;
  private nextDeviceFrame = 0;
  private nextStreamIndex = 0;
  private lastFrameHostNs: number | null = null;
  private readonly boardHalf = new Int32Array(8);
  private boardFrame = -1;
  private boardTimestamp: number | null = null;

  constructor(options: FrameAssemblerOptions) {
    this.daisy = options.daisy;
    this.channelCount = options.daisy ? 16 : 8;
    this.frameRateHz = options.daisy ? PACKET_RATE_HZ / 2 : PACKET_RATE_HZ;
    this.maxFrames = options.maxBlockFrames;
    this.scale = options.uvPerCount;
    this.sourceCounters = options.sourceCounters;
    this.linkCounters = options.linkCounters;
    this.emit = options.emit;
    this.block = {
      format: 'float32',
      streamId: options.streamId,
      firstSampleIndex: 0,
      sampleRateHz: this.frameRateHz,
      channelCount: this.channelCount,
      frameCount: 0,
      samples: new Float32Array(this.maxFrames * this.channelCount),
      deviceTimestamp: null,
      hostReceiveTimeNs: 0,
    };
  }

  /** Index the next frame gets if none is lost: where the stream stands. */
  get streamIndex(): number {
    return this.nextStreamIndex;
  }

  /**
   * A new run of packets begins (start, or reconnection). With `afterOutage`, the frames lost
   * meanwhile are estimated from the host time between the last frame and the next one.
   */
  beginSegment(afterOutage: boolean): void {
    this.flush();
    this.lastU = -1;
    this.segmentStarted = false;
    this.estimateGap = afterOutage;
    this.boardFrame = -1;
  }

  onPacket(sampleNumber: number, counts: Int32Array, stopByte: number, packet: Uint8Array, hostReceiveTimeNs: number): void {
    let u: number;
    if (this.lastU < 0) {
      u = sampleNumber;
    } else {
      let delta = (sampleNumber - (this.lastU % 256)) & 0xff;
      if (delta === 0) delta = 256; // a whole turn of the counter: the board never repeats one
      u = this.lastU + delta;
    }
    this.lastU = u;
    // Stop bytes 0xC3–0xC6 carry the board's clock (ms since it started) in bytes 28–31, big-endian.
    const timestamp = stopByte >= 0xc3 ? packet[28] * 0x1000000 + ((packet[29] << 16) | (packet[30] << 8) | packet[31]) : null;
    if (!this.daisy) {
      this.frame(u, counts, null, timestamp, hostReceiveTimeNs);
      return;
    }
    if (u % 2 === 1) {
      // A board half replaces any earlier one still waiting: that one's daisy half was lost.
      this.boardHalf.set(counts);
      this.boardFrame = (u - 1) / 2;
      this.boardTimestamp = timestamp;
      return;
    }
    const f = (u - 2) / 2;
    if (f >= 0 && this.boardFrame === f) this.frame(f, this.boardHalf, counts, this.boardTimestamp, hostReceiveTimeNs);
    this.boardFrame = -1;
  }

  /** Emits the frames gathered so far as one block. */
  flush(): void {
    const block = this.block;
    if (block.frameCount === 0) return;
    this.sourceCounters.blocksDelivered++;
    this.sourceCounters.framesDelivered += block.frameCount;
    this.emit(block);
    block.frameCount = 0;
  }

  private frame(f: number, first: Int32Array, second: Int32Array | null, timestamp: number | null, hostReceiveTimeNs: number): void {
    if (!this.segmentStarted) {
      let gap = 0;
      if (this.estimateGap && this.lastFrameHostNs !== null) {
        gap = Math.max(0, Math.round(((hostReceiveTimeNs - this.lastFrameHostNs) * this.frameRateHz) / 1e9) - 1);
      }
      this.segmentStarted = true;
      this.segmentOffset = this.nextStreamIndex + gap - f;
      this.nextDeviceFrame = f;
      if (gap > 0) this.dropped(gap);
    } else if (f > this.nextDeviceFrame) {
      this.dropped(f - this.nextDeviceFrame);
    } else if (f < this.nextDeviceFrame) {
      // Behind what we already delivered: a false lock on a data byte. Never deliver it twice.
      this.linkCounters.resyncs++;
      return;
    }
    const block = this.block;
    if (block.frameCount === this.maxFrames) this.flush();
    const index = this.segmentOffset + f;
    if (block.frameCount === 0) {
      block.firstSampleIndex = index;
      block.deviceTimestamp = timestamp;
      block.hostReceiveTimeNs = hostReceiveTimeNs;
    }
    const samples = block.samples;
    const scale = this.scale;
    const base = block.frameCount * this.channelCount;
    for (let c = 0; c < 8; c++) samples[base + c] = first[c] * scale[c];
    if (second) for (let c = 0; c < 8; c++) samples[base + 8 + c] = second[c] * scale[8 + c];
    block.frameCount++;
    this.nextDeviceFrame = f + 1;
    this.nextStreamIndex = index + 1;
    this.lastFrameHostNs = hostReceiveTimeNs;
  }

  private dropped(frames: number): void {
    this.flush();
    this.sourceCounters.framesDropped += frames;
    this.sourceCounters.blocksDropped++;
    this.linkCounters.drops += frames;
  }
}
