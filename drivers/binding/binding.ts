/**
 * The device binding contract: the one small interface behind which every byte transport sits
 * (serial port, TCP socket, USB bulk endpoint, and their fakes), in the spirit of serialport's
 * bindings interface. Drivers speak protocols over a `BindingPort`; they never touch serialport,
 * net or usb directly, so every driver runs unchanged against a fake or an emulator.
 *
 * Reads are pulled into a caller-owned buffer (no allocation per read). A read rejects with
 * `E_READ_CANCELLED` when our own `close()` cancelled it — a normal end — and with
 * `E_DEVICE_DISCONNECTED` when the device vanished: callers tell them apart by the code
 * (`isReadCancelled`).
 */
import { OptoloopError, isOptoloopError } from '../../src/core/errors.js';

export type TransportKind = 'serial' | 'tcp' | 'usb' | 'mock';

export interface PortInfo {
  readonly kind: TransportKind;
  /** What `open()` takes to reach this device: a tty path, host:port, or a USB bus-address. */
  readonly path: string;
  readonly manufacturer?: string;
  readonly serialNumber?: string;
  readonly vendorId?: string;
  readonly productId?: string;
}

export interface ReadResult {
  readonly bytesRead: number;
}

export interface BindingPort {
  readonly path: string;
  readonly isOpen: boolean;
  /**
   * Resolves once at least one byte is in `buffer[offset … offset + length)`. Rejects with
   * E_READ_CANCELLED (closed by us) or E_DEVICE_DISCONNECTED (device gone).
   */
  read(buffer: Uint8Array, offset: number, length: number): Promise<ReadResult>;
  /** Resolves when the bytes have been handed to the OS. Rejects with E_DEVICE_DISCONNECTED. */
  write(data: Uint8Array): Promise<void>;
  /**
   * Optional: hands bytes to the OS synchronously, inside this call (a non-blocking write(2)), and
   * returns how many it took — 0 when the transport would block. For the stimulation path, so that
   * a trigger leaves the process without waiting for the event loop to come round. Throws
   * E_DEVICE_DISCONNECTED. Transports that cannot write synchronously do not have it.
   */
  writeNow?(data: Uint8Array): number;
  close(): Promise<void>;
  /**
   * Asks the transport for its lowest-latency mode (FTDI latency timer 1 ms). Resolves false — and
   * never throws — where the port cannot (a pseudo-terminal, a socket), so drivers warn and carry on.
   */
  setLowLatency(): Promise<boolean>;
  /** Discards unread input and unsent output. */
  flush(): Promise<void>;
}

export interface Binding<O extends { readonly path: string } = { readonly path: string }> {
  readonly kind: TransportKind;
  list(): Promise<PortInfo[]>;
  open(options: O): Promise<BindingPort>;
}

export function readCancelled(path: string): OptoloopError {
  return new OptoloopError('E_READ_CANCELLED', `${path}: read cancelled by close`, { stage: 'drivers/binding', details: { path } });
}

export function deviceDisconnected(path: string, cause?: unknown): OptoloopError {
  const reason = cause instanceof Error ? `: ${cause.message}` : '';
  return new OptoloopError('E_DEVICE_DISCONNECTED', `${path}: device disconnected${reason}`, {
    stage: 'drivers/binding',
    details: { path },
    cause,
  });
}

export function isReadCancelled(error: unknown): boolean {
  return isOptoloopError(error, 'E_READ_CANCELLED');
}
