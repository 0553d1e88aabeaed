import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { systemClock, type MonotonicClock } from '../../../src/core/clock.js';
import { FaultyWriter, type WriteFaults } from '../common/faulty-writer.js';
import { SeededFrameGenerator } from '../common/seeded-frame-generator.js';
import { EmulatedImecStream, type EmulatedImecStreamOptions } from './spikeglx-stream.js';

export interface SpikeglxEmulatorOptions {
  readonly host?: string;
  /** 0 picks a free port (tests); SpikeGLX's default is 4142. */
  readonly port?: number;
  /** One entry per imec probe stream (js 2, ip = index). */
  readonly probes?: readonly EmulatedImecStreamOptions[];
  readonly seed?: number;
  /** Stream time = speed × elapsed time of this clock since the run started. */
  readonly clock?: MonotonicClock;
  readonly speed?: number;
  readonly version?: string;
  readonly faults?: WriteFaults;
  /** Consecutive errors after which the server closes the connection (SpikeGLX: 5). */
  readonly maxConsecutiveErrors?: number;
}

/**
 * An emulated SpikeGLX remote command server (protocols §4.2): one worker per connection, one
 * command per `\n`-terminated line (name case-insensitive), replies ending with `OK` or
 * `ERROR <message>`, and the connection closed after 5 consecutive errors or on
 * BYE/QUIT/EXIT/CLOSE. Streams: imec probes (js 2 and its filtered alias −2), with GETVERSION,
 * ISINITIALIZED, ISRUNNING, ISSAVING, GETSTREAMNP, GETSTREAMSAMPLERATE, GETSTREAMACQCHANS,
 * GETSTREAMI16TOVOLTS, GETSTREAMMAXINT, GETSTREAMSAMPLECOUNT, NOOP, and FETCH from a ring of
 * recent samples — `ERROR FETCH: Too late.` once the asked-for sample has left it, a wait of up to
 * 3 × 2 ms when nothing new is there, and, like SpikeGLX, a header naming every channel when the
 * reply is empty.
 *
 * Fault injection: fragmentation and non-printable garbage between replies (FaultyWriter), stalls,
 * disconnects, and the whole server vanishing (`kill`) and coming back (`revive`).
 */
export class SpikeglxEmulator {
  readonly commandLog: string[] = [];
  readonly streams: EmulatedImecStream[];
  readonly writers = new Set<FaultyWriter>();
  private readonly host: string;
  private portValue: number;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private faults: WriteFaults;
  private stalled = false;
  private readonly version: string;
  private readonly maxErrors: number;

  constructor(options: SpikeglxEmulatorOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.portValue = options.port ?? 0;
    const clock = options.clock ?? systemClock;
    const speed = options.speed ?? 1;
    this.streams = (options.probes ?? [{ apChannels: 384, lfChannels: 384 }]).map(
      (p, k) => new EmulatedImecStream(p, p.provider ?? new SeededFrameGenerator(p.apChannels + (p.lfChannels ?? 0), (options.seed ?? 1) + k), clock, speed),
    );
    this.faults = options.faults ?? {};
    this.version = options.version ?? '20250325';
    this.maxErrors = options.maxConsecutiveErrors ?? 5;
  }

  get port(): number {
    return this.portValue;
  }

  async start(): Promise<void> {
    for (const s of this.streams) s.startRun();
    await this.listen();
  }

  async stop(): Promise<void> {
    await this.kill();
  }

  /** The server vanishes: connections reset, nothing listens; the run (and its count) goes on. */
  async kill(): Promise<void> {
    for (const w of this.writers) w.disconnect('reset');
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async revive(): Promise<void> {
    await this.listen();
  }

  /** Drops every connection mid-stream; the server keeps listening. */
  disconnect(how: 'reset' | 'end' = 'reset'): void {
    for (const w of this.writers) w.disconnect(how);
  }

  /** Replies stop going out (they queue) until `resume()`. */
  stall(): void {
    this.stalled = true;
    for (const w of this.writers) w.stall();
  }

  resume(): void {
    this.stalled = false;
    for (const w of this.writers) w.resume();
  }

  setFaults(faults: WriteFaults): void {
    this.faults = faults;
    for (const w of this.writers) {
      w.fragment = faults.fragment ?? 'none';
      w.garbageProbability = faults.garbageProbability ?? 0;
    }
  }

  private async listen(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.portValue, this.host, () => resolve());
    });
    this.portValue = (server.address() as AddressInfo).port;
    this.server = server;
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    this.sockets.add(socket);
    const writer = new FaultyWriter(socket, this.faults);
    if (this.stalled) writer.stall();
    this.writers.add(writer);
    let text = '';
    let errors = 0;
    let busy = Promise.resolve();
    socket.on('error', () => {});
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.writers.delete(writer);
    });
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      let nl: number;
      while ((nl = text.indexOf('\n')) >= 0) {
        const line = text.slice(0, nl).trim();
        text = text.slice(nl + 1);
        if (!line) continue;
        // One worker per connection: commands are answered strictly in order.
        busy = busy.then(async () => {
          if (writer.isDestroyed) return;
          this.commandLog.push(line);
          const reply = await this.handle(line);
          if (reply === 'close') {
            writer.write(Buffer.from('OK\n'));
            await writer.idle();
            socket.end();
            return;
          }
          writer.writeOwned(reply.bytes);
          errors = reply.error ? errors + 1 : 0;
          if (errors >= this.maxErrors) {
            await writer.idle();
            socket.end();
          }
        });
      }
    });
  }

  private async handle(line: string): Promise<{ bytes: Uint8Array; error: boolean } | 'close'> {
    const toks = line.split(/\s+/);
    const name = toks[0].toUpperCase();
    const args = toks.slice(1);
    const ok = (...lines: string[]) => ({ bytes: Buffer.from([...lines, 'OK'].join('\n') + '\n', 'latin1'), error: false });
    const error = (message: string) => ({ bytes: Buffer.from(`ERROR ${message}\n`, 'latin1'), error: true });
    switch (name) {
      case 'BYE':
      case 'QUIT':
      case 'EXIT':
      case 'CLOSE':
        return 'close';
      case 'NOOP':
        return ok();
      case 'GETVERSION':
        return ok(this.version);
      case 'ISINITIALIZED':
      case 'ISRUNNING':
        return ok('1');
      case 'ISSAVING':
        return ok('0');
      case 'GETSTREAMNP': {
        const js = Number(args[0]);
        if (args.length < 1) return error('GETSTREAMNP: Requires parameter js.');
        return ok(String(Math.abs(js) === 2 ? this.streams.length : 0));
      }
      default:
        break;
    }
    const needsStream = ['GETSTREAMSAMPLERATE', 'GETSTREAMACQCHANS', 'GETSTREAMI16TOVOLTS', 'GETSTREAMMAXINT', 'GETSTREAMSAMPLECOUNT', 'FETCH'];
    if (!needsStream.includes(name)) return error(`Unknown command: ${toks[0]}`);
    if (args.length < 2) return error(`${name}: Requires at least 2 params.`);
    const js = Number(args[0]);
    const ip = Number(args[1]);
    if (![2, -2, 0, 1].includes(js)) return error(`${name}: js must be in set {-2,0,1,2}.`);
    const stream = Math.abs(js) === 2 ? this.streams[ip] : undefined;
    if (!stream) return error(`${name}: Not running or stream not enabled (js=${js} ip=${ip}).`);
    stream.advance();
    switch (name) {
      case 'GETSTREAMSAMPLERATE':
        return ok(stream.sampleRateHz.toFixed(6));
      case 'GETSTREAMACQCHANS':
        return ok(`${stream.apChannels} ${stream.lfChannels} 1`);
      case 'GETSTREAMI16TOVOLTS': {
        const chan = Number(args[2]);
        if (!Number.isInteger(chan) || chan < 0 || chan >= stream.channelCount) return error(`GETSTREAMI16TOVOLTS: Channel ${args[2]} out of range [0..${stream.channelCount - 1}].`);
        return ok(formatG6(stream.i16ToVolts(chan)));
      }
      case 'GETSTREAMMAXINT':
        return ok('512');
      case 'GETSTREAMSAMPLECOUNT':
        return ok(String(stream.count));
      default:
        return this.fetch(stream, args, error);
    }
  }

  private async fetch(
    stream: EmulatedImecStream,
    args: string[],
    error: (m: string) => { bytes: Uint8Array; error: boolean },
  ): Promise<{ bytes: Uint8Array; error: boolean }> {
    if (args.length < 4) return error('FETCH: Requires at least 4 params.');
    const fromCt = Number(args[2]);
    const nMax = Number(args[3]);
    const subset = args[4] ?? '-1#';
    const downsample = Math.max(1, Number(args[5] ?? 1) | 0);
    let channels: number[];
    if (subset === '-1#' || subset === '-2#') channels = Array.from({ length: stream.channelCount }, (_, i) => i);
    else {
      const bits = new Uint8Array(stream.channelCount);
      const ids = subset.split('#').filter((s) => s.length > 0);
      if (!ids.length) return error('Bad channel string format.');
      for (const id of ids) {
        const c = Number(id) | 0;
        if (c < 0 || c >= stream.channelCount) return error(`Channel ${c} out of range [0..${stream.channelCount - 1}].`);
        bits[c] = 1;
      }
      channels = [];
      bits.forEach((b, i) => b && channels.push(i));
    }
    if (!Number.isFinite(fromCt) || fromCt < 0 || !(nMax > 0)) return error('FETCH: Bad parameters.');
    let available = 0;
    for (let attempt = 0; attempt < 3; attempt++) {
      stream.advance();
      if (fromCt < stream.oldest) return error('FETCH: Too late.');
      available = Math.min(nMax, stream.count - fromCt);
      if (available > 0) break;
      const gapUs = (1e6 * (fromCt + 24 - stream.count)) / stream.sampleRateHz;
      await new Promise((r) => setTimeout(r, Math.min(2, Math.max(0.25, gapUs / 1000))));
    }
    if (available <= 0) {
      // SpikeGLX names every channel of the stream when it sends no samples.
      return { bytes: Buffer.from(`BINARY_DATA ${stream.channelCount} 0 uint64(${fromCt})\nOK\n`, 'latin1'), error: false };
    }
    const samples = new Int16Array(available * channels.length);
    stream.copy(fromCt, available, channels, samples);
    let out = samples;
    let n = available;
    if (downsample > 1) {
      n = Math.ceil(available / downsample);
      out = new Int16Array(n * channels.length);
      for (let s = 0; s < n; s++) out.set(samples.subarray(s * downsample * channels.length, (s * downsample + 1) * channels.length), s * channels.length);
    }
    const header = Buffer.from(`BINARY_DATA ${channels.length} ${n} uint64(${fromCt})\n`, 'latin1');
    const payload = Buffer.from(out.buffer, out.byteOffset, out.byteLength); // x86 order: little-endian
    return { bytes: Buffer.concat([header, payload, Buffer.from('OK\n')]), error: false };
  }
}

/** A double as Qt's QString::arg(double) writes it: %g with 6 significant digits. */
export function formatG6(value: number): string {
  if (value === 0) return '0';
  const exponent = Math.floor(Math.log10(Math.abs(value)));
  if (exponent < -4 || exponent >= 6) {
    const [mantissa, exp] = value.toExponential(5).split('e');
    const m = mantissa.replace(/\.?0+$/, '');
    const e = Number(exp);
    return `${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  return Number(value.toPrecision(6)).toString();
}
