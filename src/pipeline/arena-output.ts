/**
 * The float32 block a WebAssembly stage emits: its samples are a view of the stage's output buffer
 * in the kernel's linear memory, taken again only when the block size, the buffer or the memory
 * (grown, so the old view detached) changed. One per subscription; rewritten for every block
 * (the block is borrowed, see src/core/sample-block.ts), nothing allocated per block.
 */
import { allocateFloat32Block, type Float32SampleBlock, type SampleBlockBase } from '../core/sample-block.js';
import type { WasmArena } from '../wasm/kernel.js';

export class ArenaBlockOutput {
  private readonly out = allocateFloat32Block('', 0, 0, 0);
  private view: Float32Array = new Float32Array(0);
  private viewPtr = -1;
  private generation = -1;

  /** `input`'s frames as processed into `arena` at `ptr` (frame-major, input.channelCount per frame). */
  emit(arena: WasmArena<object>, ptr: number, input: SampleBlockBase): Float32SampleBlock {
    const count = input.frameCount * input.channelCount;
    if (this.view.length !== count || this.viewPtr !== ptr || this.generation !== arena.generation) {
      this.view = arena.f32(ptr, count);
      this.viewPtr = ptr;
      this.generation = arena.generation;
    }
    const out = this.out;
    out.streamId = input.streamId;
    out.firstSampleIndex = input.firstSampleIndex;
    out.sampleRateHz = input.sampleRateHz;
    out.channelCount = input.channelCount;
    out.frameCount = input.frameCount;
    out.samples = this.view;
    out.deviceTimestamp = input.deviceTimestamp;
    out.hostReceiveTimeNs = input.hostReceiveTimeNs;
    return out;
  }
}
