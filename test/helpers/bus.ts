/**
 * Helpers for bus tests: a server on 127.0.0.1 port 0 with a recording CommandHandler, and a raw
 * WebSocket client that sends arbitrary bytes and records every frame it gets back.
 */
import WebSocket from 'ws';
import { ManualClock } from '../../src/core/clock.js';
import type { CommandHandler, CommandResult, DaemonCommand } from '../../src/core/commands.js';
import { busConfig, type BusConfig } from '../../src/bus/config.js';
import { FrameEncoder } from '../../src/bus/frame-encoder.js';
import { busTypes } from '../../src/bus/schema.js';
import { BusServer } from '../../src/bus/server.js';
import { ManualTimers } from '../../src/core/timers.js';
import { HEADER_BYTES, Topic, checkHeader, readHeader } from '../../src/bus/wire.js';

export const READ_TOKEN = 'read-token-0123456789abcdef';
export const COMMAND_TOKEN = 'command-token-0123456789abcdef';
export const STIM_TOKEN = 'stim-token-0123456789abcdef';

export class RecordingHandler implements CommandHandler {
  readonly received: { command: DaemonCommand; origin: string }[] = [];
  result: CommandResult = { ok: true, code: null, message: 'done' };
  handle(command: DaemonCommand, origin: string): CommandResult {
    this.received.push({ command, origin });
    return this.result;
  }
}

export interface TestBus {
  readonly server: BusServer;
  readonly handler: RecordingHandler;
  readonly clock: ManualClock;
  readonly timers: ManualTimers;
  readonly url: string;
  readonly config: BusConfig;
}

export async function startTestBus(overrides: Partial<BusConfig> = {}): Promise<TestBus> {
  const config = busConfig({
    port: 0,
    tokens: [
      { name: 'reader', token: READ_TOKEN, permissions: ['subscribe'] },
      { name: 'commander', token: COMMAND_TOKEN, permissions: ['command'] },
      { name: 'operator', token: STIM_TOKEN, permissions: ['subscribe', 'stimulate'] },
    ],
    ...overrides,
  });
  const clock = new ManualClock(1e12);
  const timers = new ManualTimers(clock);
  const handler = new RecordingHandler();
  const server = new BusServer({ config, commands: handler, clock, timers, rig: 'test-rig', serverVersion: '0.0.0-test' });
  const address = await server.listen();
  return { server, handler, clock, timers, url: address.url, config };
}

export interface ReceivedFrame {
  readonly topic: number;
  readonly sequence: number;
  readonly flags: number;
  // Decoded protobuf message (untyped reflection object).
  readonly message: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** A client that speaks raw frames and records everything, for testing refusals. */
export class RawClient {
  readonly frames: ReceivedFrame[] = [];
  closeCode: number | null = null;
  closeReason = '';
  private readonly encoder = new FrameEncoder();
  private waiters: (() => void)[] = [];
  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary || checkHeader(data)) throw new Error('RawClient: server sent a non-frame');
      const h = readHeader(data);
      const types = busTypes();
      const type = h.topic === Topic.control ? types.ServerMessage : h.topic === Topic.error ? types.BusError : null;
      const payload = data.subarray(HEADER_BYTES);
      const message = type
        ? (type.decode(payload) as unknown as Record<string, unknown>)
        : { bytes: payload.length };
      this.frames.push({ topic: h.topic, sequence: h.sequence, flags: h.flags, message });
      this.wake();
    });
    socket.on('close', (code: number, reason: Buffer) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      this.wake();
    });
    socket.on('error', () => {});
  }

  static open(url: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { perMessageDeflate: false });
      socket.once('open', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when `predicate` holds (checked on every frame and on close); rejects after a guard timeout. */
  until(predicate: () => boolean, what: string, guardMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`RawClient: timed out waiting for ${what}`)), guardMs);
      const check = () => {
        if (predicate()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }

  errors(): ReceivedFrame[] {
    return this.frames.filter((f) => f.topic === Topic.error);
  }

  controls(body?: string): ReceivedFrame[] {
    return this.frames.filter((f) => f.topic === Topic.control && (!body || f.message.body === body));
  }

  frame(body: object): Buffer {
    return this.encoder.encode(busTypes().ClientMessage, body, Topic.control, 0, 0);
  }

  send(body: object): void {
    this.socket.send(this.frame(body));
  }

  sendBytes(data: Buffer | string): void {
    this.socket.send(data);
  }

  async hello(token: string): Promise<void> {
    this.send({ hello: { token, clientName: 'raw' } });
    await this.until(() => this.controls('welcome').length > 0 || this.closeCode !== null, 'welcome');
  }

  /** A ping round trip: every frame sent before the pong has arrived once this resolves. */
  async barrier(): Promise<void> {
    const pongs = this.controls('pong').length;
    const errors = this.errors().length;
    this.send({ ping: { nonce: 7 } });
    await this.until(() => this.controls('pong').length > pongs || this.errors().length > errors || this.closeCode !== null, 'pong');
  }

  close(): void {
    this.socket.close();
  }
}

/** Resolves once `predicate` holds, checking after each turn of the event loop; rejects after a guard timeout. */
export async function eventually(predicate: () => boolean, what: string, guardMs = 10_000): Promise<void> {
  const deadline = Date.now() + guardMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
