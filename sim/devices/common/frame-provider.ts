/**
 * Where an emulated device gets its samples: int16 counts in the device's own scale, frame-major
 * (all channels of frame 0, then frame 1, …).
 */
export interface FrameProvider {
  readonly channelCount: number;
  /**
   * Writes up to `maxFrames` frames into `target` (which holds at least maxFrames × channelCount
   * values) and returns how many it wrote: fewer when a live source has no more yet.
   */
  read(target: Int16Array, maxFrames: number): number;
}
