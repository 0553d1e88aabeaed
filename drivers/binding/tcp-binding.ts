import { connect, type Socket } from 'node:net';
import { OptoloopError } from '../../src/core/errors.js';
import { deviceDisconnected, readCancelled, type Binding, type BindingPort, type PortInfo, type ReadResult } from './binding.js';
import { type Timers, systemTimers } from './timers.js';

export interface TcpOpenOptions {
  /** `host:port` (IPv6 hosts in brackets: `[::1]:5000`); see {@link tcpPath}. */
  readonly path: string;
  /** Give up connecting after this long (E_DEVICE_TIMEOUT). */
  readonly connectTimeoutMs?: number;
  /** Bytes buffered between the socket and the reader before the socket is paused (TCP then slows the sender). */
  readonly ringBytes?: number;
  /** TCP keep-alive probe delay: lets the OS notice a peer that vanished without closing. */
  readonly keepAliveMs?: number;
  /** Timer source for the connect timeout. */
  readonly timers?: Timers;
}

export function tcpPath(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function parseTcpPath(path: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(path) ?? /^([^:]+):(\d+)$/.exec(path);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) {
    throw new OptoloopError('E_OPTIONS_INVALID', `TCP path ${JSON.stringify(path)}: expected host:port with a port 1…65535`, {
      stage: 'drivers/binding',
      details: { path },
    });
  }
  return { host: m[1], port };
}

const DEFAULT_CONNECT_TIMEOUT_MS = 2000;
const DEFAULT_RING_BYTES = 1 << 20;

/**
 * TCP client sockets behind the binding contract. Bytes from 'data' events land in one ring
 * allocated per connection (or straight in the caller's buffer when a read is waiting), and reads
 * pull them into the caller's buffer: no Buffer.concat, no allocation per byte. Nagle is off
 * (`setNoDelay`), so small command writes leave at once.
 *
 * Errors: nothing listening → E_DEVICE_NOT_FOUND; no answer within the connect timeout →
 * E_DEVICE_TIMEOUT; the peer closing or resetting the connection → E_DEVICE_DISCONNECTED, raised
 * only after every byte received before it has been read; our own `close()` → E_READ_CANCELLED.
 */
export class TcpBinding implements Binding<TcpOpenOptions> {
  readonly kind = 'tcp' as const;

  /** A TCP peer cannot be enumerated: devices are configured by host and port. */
  async list(): Promise<PortInfo[]> {
    return [];
  }

  open(options: TcpOpenOptions): Promise<BindingPort> {
    const { host, port } = parseTcpPath(options.path);
    const timers = options.timers ?? systemTimers;
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    return new Promise<BindingPort>((resolve, reject) => {
      const socket = connect({ host, port });
      let settled = false;
      const timer = timers.setTimeout(() => {
        if (settled) return;
        settled = true;
        socket.destroy();
        reject(
          new OptoloopError('E_DEVICE_TIMEOUT', `${options.path}: no TCP connection within ${timeoutMs} ms`, {
            stage: 'drivers/binding',
            details: { path: options.path, timeoutMs },
          }),
        );
      }, timeoutMs);
      socket.once('connect', () => {
        if (settled) return;
        settled = true;
        timers.clearTimeout(timer);
        socket.setNoDelay(true);
        socket.setKeepAlive(true, options.keepAliveMs ?? 1000);
        resolve(new TcpPort(options.path, socket, options.ringBytes ?? DEFAULT_RING_BYTES));
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        if (settled) return;
        settled = true;
        timers.clearTimeout(timer);
        socket.destroy();
        reject(connectError(options.path, error));
      });
    });
  }
}

function connectError(path: string, error: NodeJS.ErrnoException): OptoloopError {
  const code = error.code ?? '';
  const details = { path, errno: code };
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'].includes(code)) {
    const why = code === 'ECONNREFUSED' ? 'nothing listens there (connection refused)' : `the address cannot be reached (${code})`;
    return new OptoloopError('E_DEVICE_NOT_FOUND', `${path}: ${why}`, { stage: 'drivers/binding', details, cause: error });
  }
  if (code === 'ETIMEDOUT') {
    return new OptoloopError('E_DEVICE_TIMEOUT', `${path}: connection timed out`, { stage: 'drivers/binding', details, cause: error });
  }
  return deviceDisconnected(path, error);
}

interface PendingRead {
  buffer: Uint8Array;
  offset: number;
  length: number;
  resolve: (result: ReadResult) => void;
  reject: (error: unknown) => void;
}

class TcpPort implements BindingPort {
  /** Bytes received, for status counters. */
  bytesReceived = 0;
  private readonly ring: Uint8Array;
  private head = 0;
  private size = 0;
  /** The tail of a 'data' chunk that did not fit in the ring; the socket is paused while it exists. */
  private overflow: Buffer | null = null;
  private overflowOffset = 0;
  private pending: PendingRead | null = null;
  private endError: OptoloopError | null = null;
  private closedByUs = false;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly socket: Socket,
    ringBytes: number,
  ) {
    this.ring = new Uint8Array(ringBytes);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd(new Error('connection closed by the device')));
    socket.on('error', (error) => this.onEnd(error));
    socket.on('close', () => {
      this.closed = true;
      this.onEnd(new Error('connection closed'));
    });
  }

  get isOpen(): boolean {
    return !this.closedByUs && this.endError === null;
  }

  private onData(chunk: Buffer): void {
    if (this.closedByUs) return;
    this.bytesReceived += chunk.length;
    let offset = 0;
    const p = this.pending;
    if (p && this.size === 0) {
      const n = Math.min(p.length, chunk.length);
      p.buffer.set(n === chunk.length ? chunk : chunk.subarray(0, n), p.offset);
      offset = n;
      this.pending = null;
      p.resolve({ bytesRead: n });
    }
    if (offset < chunk.length) this.store(chunk, offset);
  }

  /** Copies chunk[offset…) into the ring; what does not fit waits in `overflow` with the socket paused. */
  private store(chunk: Buffer, offset: number): void {
    const capacity = this.ring.length;
    let tail = (this.head + this.size) % capacity;
    while (offset < chunk.length && this.size < capacity) {
      const run = Math.min(chunk.length - offset, capacity - this.size, capacity - tail);
      this.ring.set(chunk.subarray(offset, offset + run), tail);
      offset += run;
      this.size += run;
      tail = (tail + run) % capacity;
    }
    if (offset < chunk.length) {
      this.overflow = chunk;
      this.overflowOffset = offset;
      this.socket.pause();
    }
  }

  private onEnd(cause: Error): void {
    if (this.closedByUs || this.endError) return;
    this.endError = deviceDisconnected(this.path, cause);
    const p = this.pending;
    if (p && this.size === 0) {
      this.pending = null;
      p.reject(this.endError);
    }
  }

  read(buffer: Uint8Array, offset: number, length: number): Promise<ReadResult> {
    if (this.closedByUs) return Promise.reject(readCancelled(this.path));
    if (this.pending) return Promise.reject(new OptoloopError('E_INTERNAL', `${this.path}: a read is already pending`, { stage: 'drivers/binding' }));
    if (length <= 0) return Promise.reject(new OptoloopError('E_INTERNAL', `${this.path}: read of ${length} bytes`, { stage: 'drivers/binding' }));
    if (this.size > 0) return Promise.resolve({ bytesRead: this.copyOut(buffer, offset, length) });
    if (this.endError) return Promise.reject(this.endError);
    return new Promise((resolve, reject) => {
      this.pending = { buffer, offset, length, resolve, reject };
    });
  }

  private copyOut(buffer: Uint8Array, offset: number, length: number): number {
    const capacity = this.ring.length;
    let n = 0;
    while (n < length && this.size > 0) {
      const run = Math.min(length - n, this.size, capacity - this.head);
      buffer.set(this.ring.subarray(this.head, this.head + run), offset + n);
      n += run;
      this.size -= run;
      this.head = (this.head + run) % capacity;
    }
    if (this.size === 0) this.head = 0;
    if (this.overflow) {
      const chunk = this.overflow;
      const from = this.overflowOffset;
      this.overflow = null;
      this.store(chunk, from);
      if (!this.overflow && !this.closedByUs) this.socket.resume();
    }
    return n;
  }

  write(data: Uint8Array): Promise<void> {
    if (this.closedByUs) return Promise.reject(deviceDisconnected(this.path, new Error('port closed')));
    if (this.endError) return Promise.reject(this.endError);
    return new Promise((resolve, reject) => {
      this.socket.write(data, (error) => (error ? reject(deviceDisconnected(this.path, error)) : resolve()));
    });
  }

  async close(): Promise<void> {
    if (this.closedByUs) return;
    this.closedByUs = true;
    const p = this.pending;
    this.pending = null;
    p?.reject(readCancelled(this.path));
    this.overflow = null;
    if (!this.closed) {
      const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
      this.socket.destroy();
      await closed;
    }
  }

  /** Nagle is already off; a socket has no lower-latency mode to ask for (contract: resolve false). */
  async setLowLatency(): Promise<boolean> {
    return false;
  }

  async flush(): Promise<void> {
    this.head = 0;
    this.size = 0;
    if (this.overflow) {
      this.overflow = null;
      if (!this.closedByUs) this.socket.resume();
    }
  }
}
