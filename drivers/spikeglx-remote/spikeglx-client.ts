import { OptoloopError } from '../../src/core/errors.js';
import type { BindingPort } from '../binding/binding.js';
import { PortReader } from '../tcp-common/port-reader.js';
import type { Timers } from '../binding/timers.js';
import { Watchdog } from '../tcp-common/watchdog.js';


const STAGE = 'drivers/spikeglx-remote';
const OK = [0x4f, 0x4b];
const BINARY_DATA = Array.from('BINARY_DATA ', (c) => c.charCodeAt(0));
const UINT64 = Array.from('uint64(', (c) => c.charCodeAt(0));

/** FETCH answered `ERROR FETCH: Too late.`: the samples asked for have left SpikeGLX's buffer. */
export const FETCH_TOO_LATE = -1;

/**
 * The SpikeGLX remote command protocol (protocols §4.2) over one connection: one command per line,
 * each reply ending with `OK\n` or `ERROR <message>\n`, queries first sending their response lines;
 * FETCH answers a `BINARY_DATA <nChans> <nSamples> uint64(<fromCt>)` line, then the int16 samples,
 * then `OK`.
 *
 * Replies must be complete within `replyTimeoutMs` of silence (E_DEVICE_TIMEOUT; the connection is
 * closed). SpikeGLX's lines are printable ASCII: bytes outside it before a line are skipped and
 * counted as garbage (one resync per run); any other unexpected line is E_DEVICE_PROTOCOL. The
 * FETCH path parses its header from the bytes and reads the payload into the caller's buffer,
 * allocating nothing but the promises of the reads.
 */
export class SpikeglxClient {
  readonly reader: PortReader;
  garbageBytes = 0;
  resyncs = 0;
  /** Header of the last FETCH reply. */
  fetchChannels = 0;
  fetchSamples = 0;
  fetchFromCount = 0;
  private readonly watchdog: Watchdog;
  private readonly encoder = new TextEncoder();
  private lineStart = 0;
  private lineLength = 0;
  private parsePos = 0;

  constructor(
    readonly port: BindingPort,
    timers: Timers,
    private readonly replyTimeoutMs: number,
    bufferBytes = 64 * 1024,
  ) {
    this.reader = new PortReader(port, bufferBytes);
    this.watchdog = new Watchdog(timers);
    this.reader.onBytes = () => this.watchdog.kick();
  }

  get path(): string {
    return this.port.path;
  }

  /** Sends a command; resolves with its response lines (without the final OK). */
  async query(command: string): Promise<string[]> {
    await this.send(this.encoder.encode(`${command}\n`), command);
    const lines: string[] = [];
    try {
      for (;;) {
        await this.readCleanLine();
        if (this.lineIs(OK)) {
          this.reader.consumeLine();
          return lines;
        }
        const text = this.currentLineText();
        this.reader.consumeLine();
        if (text.startsWith('ERROR')) throw this.refused(command, text);
        lines.push(text);
      }
    } finally {
      this.watchdog.disarm();
    }
  }

  /**
   * Sends a prepared FETCH command line and reads the reply: the payload lands in
   * `payload[0 … fetchChannels × fetchSamples × 2)`. Returns the sample count, or FETCH_TOO_LATE.
   */
  async fetch(commandLine: Uint8Array, payload: Uint8Array): Promise<number> {
    await this.send(commandLine, 'FETCH');
    try {
      await this.readCleanLine();
      if (!this.parseBinaryHeader()) {
        const text = this.currentLineText();
        this.reader.consumeLine();
        if (text.startsWith('ERROR')) {
          if (/too late/i.test(text)) return FETCH_TOO_LATE;
          throw this.refused(latin1Command(commandLine), text);
        }
        throw this.protocol(`FETCH answered ${JSON.stringify(text.slice(0, 80))}; expected "BINARY_DATA <nChans> <nSamples> uint64(<fromCt>)" or "ERROR …"`);
      }
      this.reader.consumeLine();
      const bytes = this.fetchSamples === 0 ? 0 : this.fetchChannels * this.fetchSamples * 2;
      if (bytes > payload.length) {
        throw this.protocol(`FETCH answered ${this.fetchSamples} samples × ${this.fetchChannels} channels (${bytes} bytes), more than the ${payload.length} bytes asked for`);
      }
      if (bytes > 0) await this.reader.readExact(payload, 0, bytes);
      await this.readCleanLine();
      if (!this.lineIs(OK)) throw this.protocol(`FETCH payload not followed by OK but by ${JSON.stringify(this.currentLineText().slice(0, 80))}`);
      this.reader.consumeLine();
      return this.fetchSamples;
    } finally {
      this.watchdog.disarm();
    }
  }

  async close(): Promise<void> {
    this.watchdog.disarm();
    await this.port.close();
  }

  private async send(bytes: Uint8Array, what: string): Promise<void> {
    this.watchdog.arm(this.replyTimeoutMs, () =>
      this.reader.abort(
        new OptoloopError('E_DEVICE_TIMEOUT', `${this.path}: no complete reply to ${what} within ${this.replyTimeoutMs} ms of silence`, {
          stage: STAGE,
          details: { path: this.path, command: what, timeoutMs: this.replyTimeoutMs },
        }),
      ),
    );
    await this.port.write(bytes);
  }

  /** Reads the next line that has printable content, skipping (and counting) leading garbage. */
  private async readCleanLine(): Promise<void> {
    for (;;) {
      const len = await this.reader.readLine();
      const b = this.reader.buffer;
      const start = this.reader.start;
      let skip = 0;
      while (skip < len && (b[start + skip] < 0x20 || b[start + skip] > 0x7e)) skip++;
      if (skip > 0) {
        this.garbageBytes += skip;
        this.resyncs++;
      }
      if (skip < len) {
        this.lineStart = start + skip;
        this.lineLength = len - skip;
        return;
      }
      // A line of nothing but garbage (its terminator included).
      this.garbageBytes += this.reader.indexOf(0x0a) + 1 - start - len;
      this.reader.consumeLine();
    }
  }

  private lineIs(word: readonly number[]): boolean {
    if (this.lineLength !== word.length) return false;
    const b = this.reader.buffer;
    for (let i = 0; i < word.length; i++) if (b[this.lineStart + i] !== word[i]) return false;
    return true;
  }

  private currentLineText(): string {
    return Buffer.from(this.reader.buffer.buffer, this.reader.buffer.byteOffset + this.lineStart, this.lineLength).toString('latin1');
  }

  private parseBinaryHeader(): boolean {
    const b = this.reader.buffer;
    const end = this.lineStart + this.lineLength;
    if (!this.matchAt(this.lineStart, BINARY_DATA, end)) return false;
    this.parsePos = this.lineStart + BINARY_DATA.length;
    const channels = this.parseUInt(end);
    if (channels < 0 || b[this.parsePos++] !== 0x20) return false;
    const samples = this.parseUInt(end);
    if (samples < 0 || b[this.parsePos++] !== 0x20) return false;
    if (!this.matchAt(this.parsePos, UINT64, end)) return false;
    this.parsePos += UINT64.length;
    const from = this.parseUInt(end);
    if (from < 0 || b[this.parsePos] !== 0x29 || this.parsePos + 1 !== end) return false;
    this.fetchChannels = channels;
    this.fetchSamples = samples;
    this.fetchFromCount = from;
    return true;
  }

  private matchAt(at: number, word: readonly number[], end: number): boolean {
    if (at + word.length > end) return false;
    const b = this.reader.buffer;
    for (let i = 0; i < word.length; i++) if (b[at + i] !== word[i]) return false;
    return true;
  }

  /** Digits at parsePos as a non-negative integer (exact to 2^53), or −1 when there are none. */
  private parseUInt(end: number): number {
    const b = this.reader.buffer;
    let value = 0;
    let digits = 0;
    while (this.parsePos < end && b[this.parsePos] >= 0x30 && b[this.parsePos] <= 0x39) {
      value = value * 10 + (b[this.parsePos] - 0x30);
      this.parsePos++;
      digits++;
    }
    return digits > 0 && digits <= 16 ? value : -1;
  }

  private refused(command: string, text: string): OptoloopError {
    return new OptoloopError('E_DEVICE_REFUSED', `${this.path}: SpikeGLX refused "${command.trim()}": ${text}`, {
      stage: STAGE,
      details: { path: this.path, command: command.trim(), reply: text },
    });
  }

  private protocol(message: string): OptoloopError {
    return new OptoloopError('E_DEVICE_PROTOCOL', `${this.path}: ${message}`, { stage: STAGE, details: { path: this.path } });
  }
}

function latin1Command(line: Uint8Array): string {
  return Buffer.from(line.buffer, line.byteOffset, line.byteLength).toString('latin1').trim();
}
