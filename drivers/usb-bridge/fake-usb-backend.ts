import {
  USB_TRANSFER_TYPE_BULK,
  UsbErrorCode,
  UsbTransferStatus,
  type UsbBackend,
  type UsbDeviceLike,
  type UsbEndpointLike,
  type UsbErrorLike,
  type UsbInterfaceLike,
  type UsbTransferCallback,
  type UsbTransferLike,
} from './usb-backend.js';

/**
 * A fake of node-usb at the transfer boundary, for tests: no USB device exists in CI. A fake
 * endpoint completes each submitted bulk IN transfer with the next scripted step — data (a short
 * transfer when it is smaller than the buffer), a zero-length packet, a stall, an overflow, or the
 * device going away — and leaves transfers pending, like an idle device, when the script is empty.
 * `calls` records what the binding did (open, claim, detach, clearHalt, release, close).
 */
export type FakeTransferStep =
  | { readonly data: Uint8Array }
  | { readonly zeroLength: true }
  | { readonly stall: true }
  | { readonly overflow: true }
  | { readonly gone: true };

const libusbError = (errno: number, message: string): UsbErrorLike => Object.assign(new Error(message), { errno });

export class FakeUsbBackend implements UsbBackend {
  readonly devices: FakeUsbDevice[] = [];
  addDevice(vendorId: number, productId: number, busNumber = 1, deviceAddress = 7): FakeUsbDevice {
    const device = new FakeUsbDevice(vendorId, productId, busNumber, deviceAddress);
    this.devices.push(device);
    return device;
  }
  getDeviceList(): UsbDeviceLike[] {
    return this.devices.filter((d) => !d.gone);
  }
}

export class FakeUsbDevice implements UsbDeviceLike {
  readonly deviceDescriptor: { idVendor: number; idProduct: number };
  readonly calls: string[] = [];
  readonly interfaces = new Map<number, FakeUsbInterface>();
  gone = false;
  kernelDriverActive = true;

  constructor(vendorId: number, productId: number, readonly busNumber: number, readonly deviceAddress: number) {
    this.deviceDescriptor = { idVendor: vendorId, idProduct: productId };
  }

  /** Adds an interface with one bulk IN endpoint; returns the endpoint to script. */
  addBulkIn(interfaceNumber: number, endpointAddress: number): FakeBulkInEndpoint {
    const endpoint = new FakeBulkInEndpoint(this, endpointAddress);
    this.interfaces.set(interfaceNumber, new FakeUsbInterface(this, interfaceNumber, [endpoint]));
    return endpoint;
  }

  open(): void {
    if (this.gone) throw libusbError(UsbErrorCode.NO_DEVICE, 'LIBUSB_ERROR_NO_DEVICE');
    this.calls.push('open');
  }
  close(): void {
    this.calls.push('close');
  }
  interface(number: number): UsbInterfaceLike {
    const iface = this.interfaces.get(number);
    if (!iface) throw libusbError(UsbErrorCode.NOT_FOUND, `LIBUSB_ERROR_NOT_FOUND: no interface ${number}`);
    return iface;
  }
  /** The cable is pulled: pending and future transfers fail with NO_DEVICE. */
  unplug(): void {
    this.gone = true;
    for (const iface of this.interfaces.values()) for (const e of iface.endpoints) (e as FakeBulkInEndpoint).failAll();
  }
}

class FakeUsbInterface implements UsbInterfaceLike {
  constructor(
    private readonly device: FakeUsbDevice,
    readonly number: number,
    readonly endpoints: UsbEndpointLike[],
  ) {}
  claim(): void {
    this.device.calls.push(`claim ${this.number}`);
  }
  release(_closeEndpoints: boolean, callback?: (error?: UsbErrorLike) => void): void {
    this.device.calls.push(`release ${this.number}`);
    setImmediate(() => callback?.());
  }
  isKernelDriverActive(): boolean {
    return this.device.kernelDriverActive;
  }
  detachKernelDriver(): void {
    this.device.calls.push(`detach ${this.number}`);
    this.device.kernelDriverActive = false;
  }
}

export class FakeBulkInEndpoint implements UsbEndpointLike {
  readonly direction = 'in' as const;
  readonly transferType = USB_TRANSFER_TYPE_BULK;
  private readonly script: FakeTransferStep[] = [];
  private readonly waiting: FakeTransfer[] = [];
  halted = false;
  /** Largest number of transfers submitted at once. */
  maxSubmitted = 0;
  submittedNow = 0;

  constructor(
    private readonly device: FakeUsbDevice,
    readonly address: number,
  ) {}

  /** Appends steps; waiting transfers are served at once (asynchronously, as libusb would). */
  push(...steps: FakeTransferStep[]): void {
    this.script.push(...steps);
    this.serve();
  }

  get scriptLeft(): number {
    return this.script.length;
  }

  makeTransfer(_timeoutMs: number, callback: UsbTransferCallback): UsbTransferLike {
    return new FakeTransfer(this, callback);
  }

  clearHalt(callback: (error: UsbErrorLike | undefined) => void): void {
    this.device.calls.push('clearHalt');
    this.halted = false;
    setImmediate(() => callback(this.device.gone ? libusbError(UsbErrorCode.NO_DEVICE, 'LIBUSB_ERROR_NO_DEVICE') : undefined));
  }

  enqueue(transfer: FakeTransfer): void {
    if (this.device.gone) throw libusbError(UsbErrorCode.NO_DEVICE, 'LIBUSB_ERROR_NO_DEVICE');
    this.waiting.push(transfer);
    this.submittedNow++;
    this.maxSubmitted = Math.max(this.maxSubmitted, this.submittedNow);
    this.serve();
  }

  cancel(transfer: FakeTransfer): boolean {
    const i = this.waiting.indexOf(transfer);
    if (i < 0) return false;
    this.waiting.splice(i, 1);
    this.complete(transfer, libusbError(UsbTransferStatus.CANCELLED, 'LIBUSB_TRANSFER_CANCELLED'), 0);
    return true;
  }

  failAll(): void {
    const all = this.waiting.splice(0);
    for (const t of all) this.complete(t, libusbError(UsbTransferStatus.NO_DEVICE, 'LIBUSB_TRANSFER_NO_DEVICE'), 0);
  }

  private serve(): void {
    while (this.waiting.length > 0 && this.script.length > 0 && !this.halted) {
      const transfer = this.waiting.shift()!;
      const step = this.script.shift()!;
      if ('data' in step) {
        const n = Math.min(step.data.length, transfer.buffer!.length);
        transfer.buffer!.set(step.data.subarray(0, n));
        this.complete(transfer, undefined, n);
        if (n < step.data.length) this.script.unshift({ data: step.data.subarray(n) });
      } else if ('zeroLength' in step) this.complete(transfer, undefined, 0);
      else if ('stall' in step) {
        this.halted = true;
        this.complete(transfer, libusbError(UsbTransferStatus.STALL, 'LIBUSB_TRANSFER_STALL'), 0);
      } else if ('overflow' in step) this.complete(transfer, libusbError(UsbTransferStatus.OVERFLOW, 'LIBUSB_TRANSFER_OVERFLOW'), 0);
      else {
        this.waiting.unshift(transfer);
        this.device.unplug();
        return;
      }
    }
  }

  private complete(transfer: FakeTransfer, error: UsbErrorLike | undefined, length: number): void {
    this.submittedNow--;
    setImmediate(() => transfer.callback(error, transfer.buffer!, length));
  }
}

class FakeTransfer implements UsbTransferLike {
  buffer: Buffer | null = null;
  constructor(
    private readonly endpoint: FakeBulkInEndpoint,
    readonly callback: UsbTransferCallback,
  ) {}
  submit(buffer: Buffer): UsbTransferLike {
    this.buffer = buffer;
    this.endpoint.enqueue(this);
    return this;
  }
  cancel(): boolean {
    return this.endpoint.cancel(this);
  }
}
