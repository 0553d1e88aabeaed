import { read as fsRead, writeSync as fsWriteSync } from 'node:fs';
import type { EventEmitter } from 'node:events';
import { autoDetect, type BindingInterface, type BindingPortInterface } from '@serialport/bindings-cpp';
import { OptoloopError } from '../../src/core/errors.js';
import { deviceDisconnected, readCancelled, type Binding, type BindingPort, type PortInfo, type ReadResult } from './binding.js';

export interface SerialOpenOptions {
  readonly path: string;
  readonly baudRate: number;
  /** Hardware flow control (Harp devices want it; most do not). */
  readonly rtscts?: boolean;
}

/**
 * Serial ports through serialport's native binding layer (pull reads into our buffer, no stream
 * wrapper and its per-chunk Buffers).
 */
export class SerialBinding implements Binding<SerialOpenOptions> {
  readonly kind = 'serial' as const;
  private readonly native: BindingInterface = autoDetect();

  async list(): Promise<PortInfo[]> {
    const ports = await this.native.list();
    return ports.map((p) => ({
      kind: 'serial',
      path: p.path,
      manufacturer: p.manufacturer,
      serialNumber: p.serialNumber,
      vendorId: p.vendorId,
      productId: p.productId,
    }));
  }

  async open(options: SerialOpenOptions): Promise<BindingPort> {
    try {
      const port = await this.native.open({ path: options.path, baudRate: options.baudRate, rtscts: options.rtscts ?? false });
      return new SerialPort(options.path, port);
    } catch (cause) {
      const message = (cause as Error).message ?? String(cause);
      const code = /ENOENT|No such file/i.test(message) ? 'E_DEVICE_NOT_FOUND' : 'E_DEVICE_DISCONNECTED';
      throw new OptoloopError(code, `${options.path}: cannot open serial port (${message})`, {
        stage: 'drivers/binding',
        details: { path: options.path },
        cause,
      });
    }
  }
}

/** What the Unix port bindings (Linux, macOS) expose beyond the interface: their fd and readiness poller. */
interface UnixPortInternals {
  readonly fd: number | null;
  readonly poller?: EventEmitter;
}

function readOnce(fd: number, buffer: Buffer, offset: number, length: number): Promise<number> {
  return new Promise((resolve, reject) => fsRead(fd, buffer, offset, length, null, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))));
}

class SerialPort implements BindingPort {
  private closing = false;
  /** The Buffer view of the last read buffer: drivers read into one buffer, so this is made once. */
  private viewOf: Uint8Array | null = null;
  private view: Buffer | null = null;

  constructor(
    readonly path: string,
    private readonly port: BindingPortInterface,
  ) {}

  get isOpen(): boolean {
    return this.port.isOpen && !this.closing;
  }

  async read(buffer: Uint8Array, offset: number, length: number): Promise<ReadResult> {
    if (this.viewOf !== buffer) {
      // The native binding wants a Buffer; a Buffer view over the caller's memory copies nothing.
      this.view = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      this.viewOf = buffer;
    }
    const view = this.view as Buffer;
    try {
      const unix = this.port as unknown as UnixPortInternals;
      const bytesRead = unix.poller && typeof unix.fd === 'number' ? await this.unixRead(unix, view, offset, length) : (await this.port.read(view, offset, length)).bytesRead;
      if (bytesRead === 0) throw deviceDisconnected(this.path, new Error('end of file'));
      return { bytesRead };
    } catch (error) {
      if ((error as { canceled?: boolean }).canceled || this.closing) throw readCancelled(this.path);
      if (error instanceof OptoloopError) throw error;
      throw deviceDisconnected(this.path, error);
    }
  }

  /**
   * The binding's own Unix read retries a read that returns 0 bytes forever; on a tty, 0 bytes
   * means end of file — the other end hung up (a pty whose master closed, a device gone) — so that
   * read would spin and never settle. This one reads the same way (non-blocking read, wait for the
   * poller's readable on EAGAIN) but ends at end of file.
   */
  private async unixRead(unix: UnixPortInternals, view: Buffer, offset: number, length: number): Promise<number> {
    for (;;) {
      const fd = unix.fd;
      if (fd === null || this.closing || !this.port.isOpen) throw Object.assign(new Error('port closed'), { canceled: true });
      try {
        return await readOnce(fd, view, offset, length);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK' && code !== 'EINTR') throw error;
      }
      // Closed while that read was on the thread pool: the poller is gone and would never answer.
      if (unix.fd === null || this.closing || !this.port.isOpen) throw Object.assign(new Error('port closed'), { canceled: true });
      await new Promise<void>((resolve, reject) => {
        (unix.poller as EventEmitter).once('readable', (error: unknown) => (error ? reject(error) : resolve()));
      });
    }
  }

  async write(data: Uint8Array): Promise<void> {
    try {
      await this.port.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    } catch (error) {
      throw deviceDisconnected(this.path, error);
    }
  }

  /**
   * The fd is non-blocking (the binding opens it so): a write of a few bytes to an idle serial port
   * or pty returns at once, so the stimulation path can hand a trigger to the kernel itself
   * instead of through the thread pool and back through the event loop.
   */
  writeNow(data: Uint8Array): number {
    const fd = (this.port as unknown as UnixPortInternals).fd;
    if (!this.isOpen || typeof fd !== 'number') return 0;
    try {
      return fsWriteSync(fd, data);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EINTR') return 0;
      throw deviceDisconnected(this.path, error);
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.port.isOpen) await this.port.close();
  }

  async setLowLatency(): Promise<boolean> {
    try {
      // lowLatency is a Linux-only option of the binding (LinuxSetOptions); other platforms ignore it.
      await this.port.set({ lowLatency: true } as Parameters<BindingPortInterface['set']>[0]);
      // The binding formats but never reports a failure of the low-latency ioctl: read it back.
      const state = (await this.port.get()) as { lowLatency?: boolean };
      return state.lowLatency === true;
    } catch {
      return false;
    }
  }

  async flush(): Promise<void> {
    await this.port.flush();
  }
}
