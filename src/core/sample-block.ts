/**
 * A block of multi-channel samples: the unit of data that flows through optoloop.
 *
 * Layout: `samples` is interleaved frame-major — all channels of frame 0, then all channels of
 * frame 1, … — so sample (frame f, channel c) is `samples[f * channelCount + c]`. This is the
 * layout every acquisition system we speak delivers (SpikeGLX, Open Ephys, raw int16), so sources
 * never transpose.
 *
 * ## Ownership
 * Every block delivered by an Observable in optoloop is **borrowed** unless the producer documents
 * otherwise: the block object and its typed arrays are valid only during the synchronous `next()`
 * call that delivered it. The producer may overwrite them for the next block (pipeline stages reuse
 * preallocated buffers so that nothing is allocated per block).
 *
 * Therefore a consumer that keeps a block beyond that call — any buffering or asynchronous operator
 * (`bufferCount`, `delay`, `observeOn`, `shareReplay`, a queue, a worker, a file writer's backlog)
 * — MUST copy it first with {@link cloneBlock} or the `ownBlocks()` operator. Consumers never mutate a
 * block they received.
 */

/** Fields shared by both sample formats. */
export interface SampleBlockBase {
  /** Identifies the stream (device + stream name), stable for the life of a source. */
  readonly streamId: string;
  /**
   * Index of this block's first frame since the stream started: a safe integer (< 2^53, i.e. over
   * 9 000 years at 30 kHz) that never wraps, even where the device's own counter does.
   */
  readonly firstSampleIndex: number;
  readonly sampleRateHz: number;
  readonly channelCount: number;
  /** Frames (samples per channel) in this block. `samples.length >= frameCount * channelCount`. */
  readonly frameCount: number;
  /**
   * The device's own timestamp of the first frame, in the device's units (e.g. the Intan frame
   * counter, the SpikeGLX sample count, the OpenBCI packet counter), or null where the device has
   * none (file replay without one, the simulator).
   */
  readonly deviceTimestamp: number | null;
  /**
   * Host monotonic time at which the block was received from the device, in ns since the
   * process's monotonic time origin (see `core/clock.ts`). A float64 ns count stays exact for
   * 104 days of process uptime.
   */
  readonly hostReceiveTimeNs: number;
}

/** Raw integer samples with a per-channel scale: µV = samples[i] × uvPerCount[channel]. */
export interface Int16SampleBlock extends SampleBlockBase {
  readonly format: 'int16';
  readonly samples: Int16Array;
  /** µV per count, one entry per channel. */
  readonly uvPerCount: Float32Array;
}

/** Samples already in µV. Every pipeline stage after the first emits this format. */
export interface Float32SampleBlock extends SampleBlockBase {
  readonly format: 'float32';
  readonly samples: Float32Array;
}

export type SampleBlock = Int16SampleBlock | Float32SampleBlock;

/** A block whose fields a producer may rewrite in place between emissions (see Ownership). */
export type MutableFloat32Block = { -readonly [K in keyof Float32SampleBlock]: Float32SampleBlock[K] };
export type MutableInt16Block = { -readonly [K in keyof Int16SampleBlock]: Int16SampleBlock[K] };

/** Deep copy of a block, trimmed to its frames: the result is owned by the caller. */
export function cloneBlock<B extends SampleBlock>(block: B): B {
  const used = block.frameCount * block.channelCount;
  if (block.format === 'int16') {
    return {
      ...block,
      samples: block.samples.slice(0, used),
      uvPerCount: block.uvPerCount.slice(),
    };
  }
  return { ...block, samples: block.samples.slice(0, used) };
}

/** The sample (frame, channel) of a block in µV, whatever its format. For tests and tools, not hot paths. */
export function sampleUv(block: SampleBlock, frame: number, channel: number): number {
  const i = frame * block.channelCount + channel;
  return block.format === 'int16' ? block.samples[i] * block.uvPerCount[channel] : block.samples[i];
}

/** Index one past this block's last frame. */
export function endSampleIndex(block: SampleBlockBase): number {
  return block.firstSampleIndex + block.frameCount;
}

/**
 * Allocates a reusable float32 block for a stage's output. Stages call this once per subscription
 * (or when a larger block arrives) and rewrite its fields for every emission.
 */
export function allocateFloat32Block(
  streamId: string,
  sampleRateHz: number,
  channelCount: number,
  capacityFrames: number,
): MutableFloat32Block {
  return {
    format: 'float32',
    streamId,
    firstSampleIndex: 0,
    sampleRateHz,
    channelCount,
    frameCount: 0,
    samples: new Float32Array(capacityFrames * channelCount),
    deviceTimestamp: null,
    hostReceiveTimeNs: 0,
  };
}
