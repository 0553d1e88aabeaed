import { OptoloopError } from '../../src/core/errors.js';
import { deviceDisconnected, readCancelled, type Binding, type BindingPort, type PortInfo, type ReadResult } from '../binding/binding.js';
import {
  USB_TRANSFER_TYPE_BULK,
  UsbTransferStatus,
  loadNodeUsb,
  type UsbBackend,
  type UsbDeviceLike,
  type UsbEndpointLike,
  type UsbErrorLike,
  type UsbInterfaceLike,
  type UsbTransferLike,
} from './usb-backend.js';

const STAGE = 'drivers/usb-bridge';

export interface UsbOpenOptions {
  /** `usb:<bus>-<address>` from list(), or '' to take the first device with the vendor and product id. */
  readonly path: string;
  readonly vendorId: number;
  readonly productId: number;
  readonly interfaceNumber: number;
  /** Bulk IN endpoint address, e.g. 0x83. */
  readonly endpointAddress: number;
  /** Bytes per bulk transfer (a multiple of the endpoint's max packet size: 512 high speed, 64 full speed). */
  readonly transferSize?: number;
  /** Transfers kept submitted, so that the device never waits for the host between transfers. */
  readonly transfersInFlight?: number;
}

export interface UsbPortCounters {
  transfers: number;
  bytes: number;
  /** Transfers that returned less than was asked: normal at the end of a device write. */
  shortTransfers: number;
  zeroLengthTransfers: number;
  /** Endpoint halts cleared (the transfer is then submitted again). */
  stalls: number;
  /** Transfers where the device sent more than the buffer (data lost; the stream parser sees the gap). */
  overflows: number;
}

export function usbPath(device: UsbDeviceLike): string {
  return `usb:${device.busNumber}-${device.deviceAddress}`;
}

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

/**
 * USB bulk IN endpoints behind the binding contract (drivers/binding/binding.ts), over node-usb or
 * any backend of the same shape (FakeUsbBackend in tests). A port reads one bulk IN endpoint; it
 * cannot write (the firmware bridge is controlled over its serial link).
 */
export class UsbBinding implements Binding<UsbOpenOptions> {
  readonly kind = 'usb' as const;
  private backend: UsbBackend | null;

  constructor(backend?: UsbBackend) {
    this.backend = backend ?? null;
  }

  private async devices(): Promise<UsbDeviceLike[]> {
    if (!this.backend) {
      try {
        this.backend = await loadNodeUsb();
      } catch (cause) {
        throw new OptoloopError('E_DEVICE_NOT_FOUND', `USB: cannot load node-usb (${(cause as Error).message}); is libusb available?`, { stage: STAGE, cause });
      }
    }
    return this.backend.getDeviceList();
  }

  async list(): Promise<PortInfo[]> {
    return (await this.devices()).map((d) => ({
      kind: 'usb',
      path: usbPath(d),
      vendorId: hex4(d.deviceDescriptor.idVendor),
      productId: hex4(d.deviceDescriptor.idProduct),
    }));
  }

  async open(options: UsbOpenOptions): Promise<BindingPort> {
    const want = `${hex4(options.vendorId)}:${hex4(options.productId)}`;
    const device = (await this.devices()).find(
      (d) =>
        d.deviceDescriptor.idVendor === options.vendorId &&
        d.deviceDescriptor.idProduct === options.productId &&
        (options.path === '' || usbPath(d) === options.path),
    );
    if (!device) {
      throw new OptoloopError('E_DEVICE_NOT_FOUND', `USB: no device ${want}${options.path ? ` at ${options.path}` : ''} is connected`, {
        stage: STAGE,
        details: { vendorId: options.vendorId, productId: options.productId, path: options.path },
      });
    }
    const path = usbPath(device);
    let iface: UsbInterfaceLike;
    try {
      device.open();
      iface = device.interface(options.interfaceNumber);
      // The stream interface is a CDC data interface on the Teensy: Linux binds cdc_acm to it.
      if (iface.isKernelDriverActive()) iface.detachKernelDriver();
      iface.claim();
    } catch (cause) {
      try {
        device.close();
      } catch {
        // Already closed or never opened: nothing to undo.
      }
      throw new OptoloopError('E_DEVICE_NOT_FOUND', `USB ${want} at ${path}: cannot claim interface ${options.interfaceNumber} (${(cause as Error).message}); check permissions (udev rule) and that no other program holds it`, {
        stage: STAGE,
        details: { path, interfaceNumber: options.interfaceNumber },
        cause,
      });
    }
    const endpoint = iface.endpoints.find((e) => e.address === options.endpointAddress);
    if (!endpoint || endpoint.direction !== 'in' || endpoint.transferType !== USB_TRANSFER_TYPE_BULK) {
      const found = iface.endpoints.map((e) => `0x${e.address.toString(16)} (${e.direction})`).join(', ') || 'none';
      iface.release(true, () => device.close());
      throw new OptoloopError(
        'E_DEVICE_PROTOCOL',
        `USB ${want} at ${path}: interface ${options.interfaceNumber} has no bulk IN endpoint 0x${options.endpointAddress.toString(16)}; it has ${found}`,
        { stage: STAGE, details: { path, endpointAddress: options.endpointAddress } },
      );
    }
    return new UsbBulkInPort(path, device, iface, endpoint, options.transferSize ?? 16_384, options.transfersInFlight ?? 4);
  }
}

/**
 * One bulk IN endpoint as a BindingPort. It keeps `transfersInFlight` transfers submitted, each
 * into its own buffer allocated at open; `read()` copies completed transfers into the caller's
 * buffer in order, and a drained transfer is submitted again at once.
 */
export class UsbBulkInPort implements BindingPort {
  readonly counters: UsbPortCounters = { transfers: 0, bytes: 0, shortTransfers: 0, zeroLengthTransfers: 0, stalls: 0, overflows: 0 };
  private readonly buffers: Buffer[] = [];
  private readonly transfers: UsbTransferLike[] = [];
  private readonly lengths: Int32Array;
  /** Completed transfers waiting to be read, in completion order (a ring of slot indices). */
  private readonly ready: Int32Array;
  private readyHead = 0;
  private readyCount = 0;
  /** Bytes of the head ready transfer already handed out. */
  private headOffset = 0;
  private pendingRead: { buffer: Uint8Array; offset: number; length: number; resolve: (r: ReadResult) => void; reject: (e: unknown) => void } | null = null;
  private open = true;
  private failure: OptoloopError | null = null;
  private submitted = 0;

  constructor(
    readonly path: string,
    private readonly device: UsbDeviceLike,
    private readonly iface: UsbInterfaceLike,
    private readonly endpoint: UsbEndpointLike,
    private readonly transferSize: number,
    transfersInFlight: number,
  ) {
    this.lengths = new Int32Array(transfersInFlight);
    this.ready = new Int32Array(transfersInFlight);
    for (let slot = 0; slot < transfersInFlight; slot++) {
      this.buffers.push(Buffer.alloc(transferSize));
      this.transfers.push(endpoint.makeTransfer(0, (error, _buffer, actualLength) => this.completed(slot, error, actualLength)));
    }
    for (let slot = 0; slot < transfersInFlight; slot++) this.submit(slot);
  }

  get isOpen(): boolean {
    return this.open && this.failure === null;
  }

  read(buffer: Uint8Array, offset: number, length: number): Promise<ReadResult> {
    if (!this.open) return Promise.reject(readCancelled(this.path));
    if (this.readyCount > 0) return Promise.resolve({ bytesRead: this.copyOut(buffer, offset, length) });
    // After a failure, transfers still in flight may yet bring data: report the loss once they are all back.
    if (this.failure && this.submitted === 0) return Promise.reject(this.failure);
    if (this.pendingRead) return Promise.reject(new OptoloopError('E_INTERNAL', `${this.path}: a read is already pending`, { stage: STAGE }));
    return new Promise((resolve, reject) => {
      this.pendingRead = { buffer, offset, length, resolve, reject };
    });
  }

  async write(): Promise<void> {
    throw new OptoloopError('E_DEVICE_PROTOCOL', `${this.path}: the stream endpoint is bulk IN only; control goes over the bridge's serial link`, { stage: STAGE });
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    const p = this.pendingRead;
    this.pendingRead = null;
    p?.reject(readCancelled(this.path));
    for (const t of this.transfers) {
      try {
        t.cancel();
      } catch {
        // A transfer that already completed cannot be cancelled.
      }
    }
    await new Promise<void>((resolve) => {
      try {
        this.iface.release(true, () => resolve());
      } catch {
        resolve();
      }
    });
    try {
      this.device.close();
    } catch {
      // The device is gone already: closing it is moot.
    }
  }

  async setLowLatency(): Promise<boolean> {
    return false;
  }

  async flush(): Promise<void> {
    while (this.readyCount > 0) this.release();
  }

  private submit(slot: number): void {
    if (!this.open || this.failure) return;
    try {
      this.transfers[slot].submit(this.buffers[slot]);
      this.submitted++;
    } catch (error) {
      this.fail(deviceDisconnected(this.path, error));
    }
  }

  private completed(slot: number, error: UsbErrorLike | undefined, actualLength: number): void {
    this.submitted--;
    if (!this.open) return;
    this.handle(slot, error, actualLength);
    this.settle();
  }

  private handle(slot: number, error: UsbErrorLike | undefined, actualLength: number): void {
    if (error) {
      switch (error.errno) {
        case UsbTransferStatus.CANCELLED:
          return;
        case UsbTransferStatus.STALL:
          this.counters.stalls++;
          this.endpoint.clearHalt((clearError) => {
            if (clearError) this.fail(deviceDisconnected(this.path, new Error(`endpoint stalled and could not be cleared: ${clearError.message}`)));
            else this.submit(slot);
          });
          return;
        case UsbTransferStatus.TIMED_OUT:
          this.submit(slot);
          return;
        case UsbTransferStatus.OVERFLOW:
          this.counters.overflows++;
          this.submit(slot);
          return;
        default:
          this.fail(deviceDisconnected(this.path, new Error(error.message)));
          return;
      }
    }
    this.counters.transfers++;
    if (actualLength === 0) {
      this.counters.zeroLengthTransfers++;
      this.submit(slot);
      return;
    }
    if (actualLength < this.transferSize) this.counters.shortTransfers++;
    this.counters.bytes += actualLength;
    this.lengths[slot] = actualLength;
    this.ready[(this.readyHead + this.readyCount) % this.ready.length] = slot;
    this.readyCount++;
    const p = this.pendingRead;
    if (p) {
      this.pendingRead = null;
      p.resolve({ bytesRead: this.copyOut(p.buffer, p.offset, p.length) });
    }
  }

  private copyOut(buffer: Uint8Array, offset: number, length: number): number {
    let n = 0;
    while (n < length && this.readyCount > 0) {
      const slot = this.ready[this.readyHead];
      const available = this.lengths[slot] - this.headOffset;
      const take = Math.min(available, length - n);
      this.buffers[slot].copy(buffer, offset + n, this.headOffset, this.headOffset + take);
      n += take;
      this.headOffset += take;
      if (this.headOffset === this.lengths[slot]) this.release();
    }
    return n;
  }

  private release(): void {
    const slot = this.ready[this.readyHead];
    this.readyHead = (this.readyHead + 1) % this.ready.length;
    this.readyCount--;
    this.headOffset = 0;
    this.submit(slot);
  }

  private fail(error: OptoloopError): void {
    if (this.failure) return;
    this.failure = error;
    this.settle();
  }

  /** Data already received stays readable; the read after the last of it reports the loss. */
  private settle(): void {
    if (!this.failure || this.readyCount > 0 || this.submitted > 0) return;
    const p = this.pendingRead;
    this.pendingRead = null;
    p?.reject(this.failure);
  }
}
