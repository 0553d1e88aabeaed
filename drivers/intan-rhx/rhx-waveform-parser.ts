/**
 * The RHX waveform stream (port 5001, protocols §1.3) as a fed-and-drained state machine over one
 * buffer allocated at set-up.
 *
 * Stream: data blocks, each the u32 LE magic 0x2EF07A08 then 128 frames; a frame is a u32 LE
 * timestamp then W u16 LE words. Amplifier words decode as µV = 0.195 × (u16 − 32768); we deliver
 * the int16 (u16 − 32768) and let uvPerCount = 0.195 scale it.
 *
 * Feeding: either copy bytes in with `feed()`, or read the socket straight into
 * `buffer[writeOffset … writeOffset + writableBytes)` and `commit(n)` (no copy). Draining: while
 * `next()` returns true, `samples` holds `framesReady` frames (frame-major, output columns per the
 * channel plan) and `blockTimestamp` the first frame's timestamp; both are overwritten by the next
 * call.
 *
 * Resynchronisation: when the bytes at the read position are not the magic, the parser skips to
 * the next occurrence of the magic (counting one resync per run of garbage and every byte skipped).
 * A block is accepted only when its 128 timestamps are consecutive (mod 2^32): an accidental magic
 * inside sample data, or a block cut by inserted bytes, fails that test and scanning goes on one
 * byte further — the lost block then shows as a timestamp gap, counted as dropped frames.
 */
export const RHX_WAVEFORM_MAGIC = 0x2ef07a08;
export const RHX_FRAMES_PER_BLOCK = 128;
/** µV per count of amplifier words (wide, low and high bands alike). */
export const RHX_AMPLIFIER_UV_PER_COUNT = 0.195;

export class RhxWaveformParser {
  readonly wordsPerFrame: number;
  readonly frameBytes: number;
  readonly blockBytes: number;
  readonly buffer: Uint8Array;
  /** Decoded frames, `framesReady × outputCount` valid; capacity one block. */
  readonly samples: Int16Array;
  framesReady = 0;
  blockTimestamp = 0;
  /** Runs of garbage skipped. */
  resyncs = 0;
  /** Bytes skipped while looking for the magic. */
  garbageBytes = 0;
  blocksParsed = 0;
  private start = 0;
  private end = 0;
  private inGarbage = false;

  constructor(
    private readonly wordToOutput: Int32Array,
    readonly outputCount: number,
    bufferBytes = 0,
  ) {
    this.wordsPerFrame = wordToOutput.length;
    this.frameBytes = 4 + 2 * this.wordsPerFrame;
    this.blockBytes = 4 + RHX_FRAMES_PER_BLOCK * this.frameBytes;
    this.buffer = new Uint8Array(Math.max(bufferBytes, 2 * this.blockBytes, 256 * 1024));
    this.samples = new Int16Array(RHX_FRAMES_PER_BLOCK * outputCount);
  }

  /** Bytes held and not yet consumed. */
  get buffered(): number {
    return this.end - this.start;
  }

  /** Where the next socket read should land. Compacts the buffer when the tail is short. */
  get writeOffset(): number {
    if (this.buffer.length - this.end < this.blockBytes && this.start > 0) this.compact();
    return this.end;
  }

  get writableBytes(): number {
    return this.buffer.length - this.writeOffset;
  }

  commit(byteCount: number): void {
    this.end += byteCount;
  }

  /** Copies bytes in; returns how many fitted (drain with `next()` and feed the rest). */
  feed(bytes: Uint8Array, offset = 0, length = bytes.length - offset): number {
    const space = this.writableBytes;
    const n = Math.min(space, length);
    this.buffer.set(bytes.subarray(offset, offset + n), this.end);
    this.end += n;
    return n;
  }

  /** Decodes the next whole block if one is buffered. */
  next(): boolean {
    const b = this.buffer;
    for (;;) {
      const available = this.end - this.start;
      if (available < 4) return false;
      if (readU32(b, this.start) !== RHX_WAVEFORM_MAGIC) {
        this.enterGarbage();
        const at = this.findMagic(this.start + 1);
        if (at < 0) {
          // Keep the last 3 bytes: they may be the start of a magic split across reads.
          const skip = available - 3;
          this.garbageBytes += skip;
          this.start += skip;
          return false;
        }
        this.garbageBytes += at - this.start;
        this.start = at;
        continue;
      }
      if (available < this.blockBytes) return false;
      if (!this.timestampsConsecutive(this.start, RHX_FRAMES_PER_BLOCK)) {
        this.enterGarbage();
        this.garbageBytes++;
        this.start++;
        continue;
      }
      this.decode(this.start, RHX_FRAMES_PER_BLOCK);
      this.start += this.blockBytes;
      if (this.start === this.end) this.start = this.end = 0;
      this.inGarbage = false;
      this.blocksParsed++;
      return true;
    }
  }

  /**
   * After the stream broke off: decodes the whole frames of a block cut short, so that nothing
   * received is lost. Returns the frame count (0 when none), then forgets every buffered byte.
   */
  flushPartial(): number {
    let frames = 0;
    const available = this.end - this.start;
    if (available >= 4 + this.frameBytes && readU32(this.buffer, this.start) === RHX_WAVEFORM_MAGIC) {
      frames = Math.min(RHX_FRAMES_PER_BLOCK - 1, Math.floor((available - 4) / this.frameBytes));
      while (frames > 0 && !this.timestampsConsecutive(this.start, frames)) frames--;
      if (frames > 0) this.decode(this.start, frames);
    }
    this.reset();
    return frames;
  }

  reset(): void {
    this.start = this.end = 0;
    this.framesReady = 0;
    this.inGarbage = false;
  }

  private enterGarbage(): void {
    if (!this.inGarbage) {
      this.inGarbage = true;
      this.resyncs++;
    }
  }

  private findMagic(from: number): number {
    const b = this.buffer;
    for (let i = from; i + 3 < this.end; i++) {
      if (b[i] === 0x08 && b[i + 1] === 0x7a && b[i + 2] === 0xf0 && b[i + 3] === 0x2e) return i;
    }
    return -1;
  }

  private timestampsConsecutive(blockStart: number, frames: number): boolean {
    const b = this.buffer;
    let pos = blockStart + 4;
    const first = readU32(b, pos);
    for (let f = 1; f < frames; f++) {
      pos += this.frameBytes;
      if (readU32(b, pos) !== ((first + f) >>> 0)) return false;
    }
    return true;
  }

  private decode(blockStart: number, frames: number): void {
    const b = this.buffer;
    const out = this.samples;
    const map = this.wordToOutput;
    const words = this.wordsPerFrame;
    const columns = this.outputCount;
    let pos = blockStart + 4;
    this.blockTimestamp = readU32(b, pos);
    for (let f = 0; f < frames; f++) {
      pos += 4;
      const row = f * columns;
      for (let w = 0; w < words; w++) {
        out[row + map[w]] = (b[pos] | (b[pos + 1] << 8)) - 32768;
        pos += 2;
      }
    }
    this.framesReady = frames;
  }

  private compact(): void {
    this.buffer.copyWithin(0, this.start, this.end);
    this.end -= this.start;
    this.start = 0;
  }
}

function readU32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}
