import { OptoloopError } from '../../src/core/errors.js';
import { deviceDisconnected, readCancelled, type Binding, type BindingPort, type PortInfo, type ReadResult } from './binding.js';

/**
 * An in-memory binding for unit tests: `emitData` plays the device, `written` records what the
 * driver sent, `vanish` pulls the cable. No timers: reads resolve when data is emitted.
 */
export class MockBinding implements Binding {
  readonly kind = 'mock' as const;
  private readonly devices = new Map<string, MockDevice>();

  createDevice(path: string): MockDevice {
    const device = new MockDevice(path);
    this.devices.set(path, device);
    return device;
  }

  async list(): Promise<PortInfo[]> {
    return [...this.devices.keys()].map((path) => ({ kind: 'mock', path }));
  }

  async open(options: { readonly path: string }): Promise<BindingPort> {
    const device = this.devices.get(options.path);
    if (!device || device.gone) {
      throw new OptoloopError('E_DEVICE_NOT_FOUND', `${options.path}: no such mock device`, { stage: 'drivers/binding' });
    }
    return device.openPort();
  }
}

export class MockDevice {
  /** Every write the driver made, in order. */
  readonly written: Uint8Array[] = [];
  gone = false;
  lowLatencySupported = false;
  private port: MockPort | null = null;
  /** Called after each driver write: lets a test act as the device and answer. */
  onWrite: ((data: Uint8Array) => void) | null = null;

  constructor(readonly path: string) {}

  openPort(): MockPort {
    this.port = new MockPort(this);
    return this.port;
  }

  /** Bytes from the device to the driver. */
  emitData(data: Uint8Array | string): void {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    this.port?.push(bytes);
  }

  /** The device disappears: pending and future reads fail with E_DEVICE_DISCONNECTED. */
  vanish(): void {
    this.gone = true;
    this.port?.fail();
  }

  /** The device comes back (for reconnection tests). */
  reappear(): void {
    this.gone = false;
  }

  lastWrite(): Uint8Array | undefined {
    return this.written[this.written.length - 1];
  }
}

class MockPort implements BindingPort {
  private queue: Uint8Array[] = [];
  private queueOffset = 0;
  private pending: { buffer: Uint8Array; offset: number; length: number; resolve: (r: ReadResult) => void; reject: (e: unknown) => void } | null = null;
  private open = true;
  private failed = false;

  constructor(private readonly device: MockDevice) {}

  get path(): string {
    return this.device.path;
  }
  get isOpen(): boolean {
    return this.open;
  }

  push(bytes: Uint8Array): void {
    if (!this.open) return;
    this.queue.push(bytes.slice());
    this.serve();
  }

  fail(): void {
    this.failed = true;
    const p = this.pending;
    this.pending = null;
    p?.reject(deviceDisconnected(this.path));
  }

  private serve(): void {
    const p = this.pending;
    if (!p || this.queue.length === 0) return;
    let n = 0;
    while (n < p.length && this.queue.length) {
      const head = this.queue[0];
      const take = Math.min(p.length - n, head.length - this.queueOffset);
      p.buffer.set(head.subarray(this.queueOffset, this.queueOffset + take), p.offset + n);
      n += take;
      this.queueOffset += take;
      if (this.queueOffset === head.length) {
        this.queue.shift();
        this.queueOffset = 0;
      }
    }
    this.pending = null;
    p.resolve({ bytesRead: n });
  }

  read(buffer: Uint8Array, offset: number, length: number): Promise<ReadResult> {
    if (!this.open) return Promise.reject(readCancelled(this.path));
    if (this.failed) return Promise.reject(deviceDisconnected(this.path));
    if (this.pending) return Promise.reject(new OptoloopError('E_INTERNAL', `${this.path}: a read is already pending`));
    return new Promise((resolve, reject) => {
      this.pending = { buffer, offset, length, resolve, reject };
      this.serve();
    });
  }

  async write(data: Uint8Array): Promise<void> {
    if (this.failed || this.device.gone) throw deviceDisconnected(this.path);
    this.device.written.push(data.slice());
    this.device.onWrite?.(data);
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    const p = this.pending;
    this.pending = null;
    p?.reject(readCancelled(this.path));
  }

  async setLowLatency(): Promise<boolean> {
    return this.device.lowLatencySupported;
  }

  async flush(): Promise<void> {
    this.queue = [];
    this.queueOffset = 0;
  }
}
