/**
 * How long to wait before the next FETCH. A reply of nMax samples means SpikeGLX holds more:
 * fetch again at once, so that a backlog (after a stall or a slow consumer) drains at full speed.
 * A short reply means we are at the head of the stream: wait, the shorter the reply the longer,
 * up to `pollIntervalMs` for an empty one (SpikeGLX itself already waits up to ~2 ms for 24 samples
 * before answering empty-handed, protocols §4.2).
 */
export class AdaptivePollPacer {
  constructor(readonly pollIntervalMs: number) {}

  delayAfterMs(frames: number, maxFrames: number): number {
    if (frames >= maxFrames) return 0;
    return this.pollIntervalMs * (1 - frames / maxFrames);
  }
}
