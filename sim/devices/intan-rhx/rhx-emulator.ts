import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { systemClock, type MonotonicClock } from '../../../src/core/clock.js';
import type { FrameProvider } from '../common/frame-provider.js';
import { FaultyWriter, type WriteFaults } from '../common/faulty-writer.js';
import { SeededFrameGenerator } from '../common/seeded-frame-generator.js';
import { RhxBlockEncoder, RHX_BLOCK_FRAMES } from './rhx-block-encoder.js';
import { BAND_BY_PARAMETER, RhxChannelTable, type RhxWord } from './rhx-channel-table.js';

export interface RhxEmulatorOptions {
  readonly host?: string;
  /** Command server port; 0 picks a free one (tests). */
  readonly commandPort?: number;
  /** Waveform server port; 0 picks a free one at `start()` and keeps it for the emulator's life. */
  readonly waveformPort?: number;
  /** Amplifier channels per port letter, e.g. `{ A: 64, B: 32 }`. */
  readonly amplifiersPerPort?: Readonly<Record<string, number>>;
  readonly sampleRateHz?: number;
  /** Wideband signal of every amplifier channel (controller order); default a SeededFrameGenerator. */
  readonly provider?: FrameProvider;
  readonly seed?: number;
  /** Stream time = speed × elapsed time of this clock since `RunMode Run`. */
  readonly clock?: MonotonicClock;
  readonly speed?: number;
  /** Timestamp of the first frame of each run (RHX restarts its count at each run — inferred). */
  readonly runStartTimestamp?: number;
  readonly commandFaults?: WriteFaults;
  readonly waveformFaults?: WriteFaults;
  /** The emulated controller falls behind (never drops) while this much is waiting for the client. */
  readonly maxQueuedBytes?: number;
}

export interface RhxRun {
  /** Provider frame sent with the run's first timestamp. */
  readonly providerFrame: number;
  readonly timestamp: number;
}

/**
 * An emulated Intan RHX (protocols §1, test-peer notes §1.5): a command server that parses
 * `;`-separated commands case-insensitively and answers like RHX (unterminated `Return: …` for
 * gets, nothing for a successful set/execute, RHX-style error texts), keeps the channel/band output
 * table, opens the single-client waveform server on `execute ConnectTCPWaveformDataOutput`, and
 * while `RunMode Run` streams 128-frame blocks paced by its clock, `TCPNumberDataBlocksPerWrite`
 * blocks per write, words in RHX order.
 *
 * Differences from RHX, for testability: the command server buffers text up to each `;` (RHX
 * parses whatever one TCP read holds), and it listens again after its client leaves (as if the
 * operator pressed Connect again). Fault injection: fragmentation, garbage, stalls, disconnects,
 * dropped blocks, and the whole device vanishing (`kill`) and coming back (`revive`).
 */
export class RhxEmulator {
  /** Every command received, trimmed, in order. */
  readonly commandLog: string[] = [];
  readonly runs: RhxRun[] = [];
  readonly table: RhxChannelTable;
  readonly sampleRateHz: number;
  runMode: 'Run' | 'Stop' = 'Stop';
  blocksPerWrite = 10;
  blocksSent = 0;
  blocksDroppedByFault = 0;
  commandWriter: FaultyWriter | null = null;
  waveformWriter: FaultyWriter | null = null;
  private readonly host: string;
  private commandPortValue: number;
  private waveformPortValue: number;
  private readonly encoder: RhxBlockEncoder;
  private readonly clock: MonotonicClock;
  private readonly speed: number;
  private readonly maxQueuedBytes: number;
  private commandFaults: WriteFaults;
  private waveformFaults: WriteFaults;
  private commandServer: Server | null = null;
  private waveformServer: Server | null = null;
  private commandSocket: Socket | null = null;
  private waveformSocket: Socket | null = null;
  private commandText = '';
  private runStartNs = 0;
  private runFrames = 0;
  private timestamp = 0;
  private dropBlocks = 0;
  private ticker: ReturnType<typeof setTimeout> | null = null;
  private alive = false;
  private words: RhxWord[] = [];

  constructor(private readonly options: RhxEmulatorOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.commandPortValue = options.commandPort ?? 0;
    this.waveformPortValue = options.waveformPort ?? 0;
    this.table = new RhxChannelTable(options.amplifiersPerPort ?? { A: 32 });
    this.sampleRateHz = options.sampleRateHz ?? 30000;
    const provider = options.provider ?? new SeededFrameGenerator(this.table.amplifierCount, options.seed ?? 1);
    this.encoder = new RhxBlockEncoder(provider, this.table.amplifierCount);
    this.clock = options.clock ?? systemClock;
    this.speed = options.speed ?? 1;
    this.maxQueuedBytes = options.maxQueuedBytes ?? 8 << 20;
    this.commandFaults = options.commandFaults ?? {};
    this.waveformFaults = options.waveformFaults ?? {};
  }

  /** Clock time (ns) at which the current run's first frame was due. */
  get currentRunStartNs(): number {
    return this.runStartNs;
  }

  get commandPort(): number {
    return this.commandPortValue;
  }

  get waveformPort(): number {
    return this.waveformPortValue;
  }

  get waveformStatus(): 'Connected' | 'Pending' | 'Disconnected' {
    return this.waveformSocket ? 'Connected' : this.waveformServer ? 'Pending' : 'Disconnected';
  }

  /** The words of each frame as they go out now. */
  get wireWords(): readonly RhxWord[] {
    return this.table.wireWords();
  }

  async start(): Promise<void> {
    if (this.waveformPortValue === 0) this.waveformPortValue = await freePort(this.host);
    await this.listenCommand();
    this.alive = true;
  }

  /** Shuts everything down for good. */
  async stop(): Promise<void> {
    await this.kill();
  }

  /** The device vanishes: every socket is reset and nothing listens any more. */
  async kill(): Promise<void> {
    this.alive = false;
    this.setRunMode('Stop');
    this.commandWriter?.disconnect('reset');
    this.waveformWriter?.disconnect('reset');
    this.commandSocket?.destroy();
    this.waveformSocket?.destroy();
    await Promise.all([closeServer(this.commandServer), closeServer(this.waveformServer)]);
    this.commandServer = this.waveformServer = null;
  }

  /** The device comes back on the same ports, stopped, its output table as it was. */
  async revive(): Promise<void> {
    await this.listenCommand();
    this.alive = true;
  }

  /** Drops the current connections mid-stream (the device itself stays up and listening for commands). */
  disconnect(how: 'reset' | 'end' = 'reset'): void {
    this.commandWriter?.disconnect(how);
    this.waveformWriter?.disconnect(how);
  }

  /** The next `count` blocks are counted as sent (timestamps and samples advance) but never written. */
  dropNextBlocks(count: number): void {
    this.dropBlocks += count;
  }

  setFaults(which: 'command' | 'waveform', faults: WriteFaults): void {
    if (which === 'command') this.commandFaults = faults;
    else this.waveformFaults = faults;
    const writer = which === 'command' ? this.commandWriter : this.waveformWriter;
    if (writer) {
      writer.fragment = faults.fragment ?? 'none';
      writer.garbageProbability = faults.garbageProbability ?? 0;
    }
  }

  /** Produces whatever the clock says is due now (the ticker does this every millisecond). */
  pump(): void {
    if (this.runMode !== 'Run') return;
    const dueFrames = Math.floor((((this.clock.nowNs() - this.runStartNs) / 1e9) * this.sampleRateHz * this.speed));
    const writeFrames = this.blocksPerWrite * RHX_BLOCK_FRAMES;
    const blockBytes = RhxBlockEncoder.blockBytes(this.words.length);
    while (this.runFrames + writeFrames <= dueFrames) {
      const writer = this.waveformWriter;
      if (writer && (writer.queuedBytes > this.maxQueuedBytes || writer.isStalled)) break;
      const out = writer ? new Uint8Array(this.blocksPerWrite * blockBytes) : null;
      let used = 0;
      let made = 0;
      for (; made < this.blocksPerWrite; made++) {
        if (!this.encoder.fill()) break;
        const drop = this.dropBlocks > 0;
        if (drop) {
          this.dropBlocks--;
          this.blocksDroppedByFault++;
        }
        this.encoder.take(this.timestamp, this.words, drop ? null : out, used);
        if (!drop) {
          used += blockBytes;
          if (writer) this.blocksSent++;
        }
        this.timestamp = (this.timestamp + RHX_BLOCK_FRAMES) >>> 0;
        this.runFrames += RHX_BLOCK_FRAMES;
      }
      if (writer && out && used > 0) writer.writeOwned(out.subarray(0, used));
      if (made < this.blocksPerWrite) break; // the provider has no more yet
    }
  }

  private async listenCommand(): Promise<void> {
    const server = createServer((socket) => this.acceptCommand(socket));
    await listen(server, this.host, this.commandPortValue);
    this.commandPortValue = (server.address() as AddressInfo).port;
    this.commandServer = server;
  }

  private acceptCommand(socket: Socket): void {
    if (this.commandSocket) {
      socket.destroy(); // one client at a time, like RHX
      return;
    }
    socket.setNoDelay(true);
    this.commandSocket = socket;
    this.commandText = '';
    this.commandWriter = new FaultyWriter(socket, this.commandFaults);
    socket.on('data', (chunk: Buffer) => this.onCommandData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.commandSocket === socket) {
        this.commandSocket = null;
        this.commandWriter = null;
      }
    });
  }

  private onCommandData(chunk: Buffer): void {
    this.commandText += chunk.toString('latin1');
    const last = this.commandText.lastIndexOf(';');
    if (last < 0) return;
    const ready = this.commandText.slice(0, last);
    this.commandText = this.commandText.slice(last + 1);
    const commands = ready.split(';');
    commands.forEach((raw, i) => {
      const command = raw.trim();
      if (!command) return;
      this.commandLog.push(command);
      const reply = this.interpret(command, i + 1);
      if (reply) this.commandWriter?.write(Buffer.from(reply, 'latin1'));
    });
  }

  /** One command → RHX's reply text ('' when RHX answers nothing). */
  private interpret(command: string, n: number): string {
    const words = command.split(/\s+/);
    const verb = words[0].toLowerCase();
    if (verb === 'get') {
      if (words.length !== 2) return `Error - Command ${n}: get requires exactly one parameter`;
      return this.get(words[1]);
    }
    if (verb === 'set') {
      if (words.length !== 3) return `Error - Command ${n}: set requires exactly two parameters`;
      return this.set(words[1], words[2]);
    }
    if (verb === 'execute') {
      if (words.length < 2 || words.length > 3) return `Error - Command ${n}: execute requires one or two parameters`;
      return this.execute(words[1]);
    }
    return `Error - Command ${n}: Unrecognized command ${words[0]}`;
  }

  private get(name: string): string {
    const key = name.toLowerCase();
    switch (key) {
      case 'sampleratehertz':
        return `Return: ${name} ${Math.round(this.sampleRateHz)}`;
      case 'runmode':
        return `Return: RunMode ${this.runMode}`;
      case 'type':
        return `Return: ${name} ControllerRecordUSB3`;
      case 'tcpnumberdatablocksperwrite':
        return `Return: ${name} ${this.blocksPerWrite}`;
      case 'tcpwaveformdataoutputconnectionstatus':
        return `Return: ${name} ${this.waveformStatus}`;
      case 'currenttimestamp':
        return `Return: ${this.runMode === 'Run' ? this.timestamp : -1}`;
      default: {
        const scoped = this.channelParameter(name);
        if (scoped) return `Return: ${name} ${this.table.isEnabled(scoped.amplifier, scoped.band) ? 'True' : 'False'}`;
        return 'Unrecognized parameter';
      }
    }
  }

  private set(name: string, value: string): string {
    const key = name.toLowerCase();
    const v = value.toLowerCase();
    if (key === 'runmode') {
      if (v === 'run') {
        if (this.runMode === 'Run') return 'Board must be stopped in order to start running';
        this.setRunMode('Run');
        return '';
      }
      if (v === 'stop') {
        this.setRunMode('Stop');
        return '';
      }
      if (v === 'record' || v === 'trigger') return 'Filename.Path and Filename.BaseFilename must be set before recording';
      return 'Invalid value for RunMode command. Acceptable: Run, Stop, Record, Trigger';
    }
    if (key === 'tcpnumberdatablocksperwrite') {
      if (this.runMode === 'Run') return 'TCPNumberDataBlocksPerWrite cannot be set while the board is running';
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1 || n > 100) return 'Invalid value for TCPNumberDataBlocksPerWrite command. Acceptable: integers 1-100';
      this.blocksPerWrite = n;
      return '';
    }
    if (key === 'sampleratehertz') return this.runMode === 'Run' ? 'SampleRateHertz cannot be set while the board is running' : '';
    const scoped = this.channelParameter(name);
    if (scoped) {
      if (v !== 'true' && v !== 'false') return `Invalid value for ${name} command. Acceptable: true, false`;
      if (this.runMode === 'Run') return `${name} cannot be set while the board is running`;
      this.table.setEnabled(scoped.amplifier, scoped.band, v === 'true');
      return '';
    }
    return 'Unrecognized parameter';
  }

  private execute(action: string): string {
    switch (action.toLowerCase()) {
      case 'clearalldataoutputs':
        if (this.runMode === 'Run') return 'ClearAllDataOutputs cannot be executed while the board is running';
        this.table.clear();
        return '';
      case 'connecttcpwaveformdataoutput':
        this.openWaveformServer();
        return '';
      default:
        return 'Unrecognized action';
    }
  }

  private channelParameter(name: string): { amplifier: number; band: 'wide' | 'low' | 'high' } | null {
    const dot = name.indexOf('.');
    if (dot < 0) return null;
    const amplifier = this.table.indexOf(name.slice(0, dot));
    const band = BAND_BY_PARAMETER[name.slice(dot + 1).toLowerCase()];
    return amplifier >= 0 && band ? { amplifier, band } : null;
  }

  private openWaveformServer(): void {
    if (this.waveformSocket || this.waveformServer) return;
    const server = createServer((socket) => {
      // Single client: RHX stops listening once it has one (protocols §1.1).
      if (this.waveformSocket) return void socket.destroy();
      this.waveformSocket = socket;
      socket.setNoDelay(true);
      this.waveformWriter = new FaultyWriter(socket, this.waveformFaults);
      socket.on('error', () => {});
      socket.on('data', () => {});
      socket.on('close', () => {
        if (this.waveformSocket === socket) {
          this.waveformSocket = null;
          this.waveformWriter = null;
        }
      });
      void closeServer(server);
      if (this.waveformServer === server) this.waveformServer = null;
    });
    this.waveformServer = server;
    // listen() is synchronous enough for a client that connects after our (later) reply.
    server.listen(this.waveformPortValue, this.host);
    server.on('error', () => {});
  }

  private setRunMode(mode: 'Run' | 'Stop'): void {
    if (mode === this.runMode) return;
    this.runMode = mode;
    if (mode === 'Run') {
      this.words = this.table.wireWords();
      this.timestamp = (this.options.runStartTimestamp ?? 0) >>> 0;
      this.runStartNs = this.clock.nowNs();
      this.runFrames = 0;
      this.runs.push({ providerFrame: this.encoder.nextFrame, timestamp: this.timestamp });
      const tick = (): void => {
        this.pump();
        this.ticker = this.runMode === 'Run' && this.alive ? setTimeout(tick, 1) : null;
      };
      this.ticker = setTimeout(tick, 0);
    } else if (this.ticker) {
      clearTimeout(this.ticker);
      this.ticker = null;
    }
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server | null): Promise<void> {
  return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
}

/** A port nobody listens on now (the emulator then keeps it for its waveform server). */
async function freePort(host: string): Promise<number> {
  const s = createServer();
  await listen(s, host, 0);
  const port = (s.address() as AddressInfo).port;
  await closeServer(s);
  return port;
}
