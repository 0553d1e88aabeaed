/**
 * The slice of node-usb's (legacy, libusb-based) API that the USB binding uses, as interfaces, so
 * that the binding runs unchanged against node-usb or against FakeUsbBackend (no USB device exists
 * in CI). Names and shapes follow node-usb 2.x: `getDeviceList()`, `Device.open/interface/close`,
 * `Interface.claim/release/isKernelDriverActive/detachKernelDriver`, `InEndpoint.makeTransfer`,
 * `Transfer.submit/cancel`, `Endpoint.clearHalt`.
 */

/** libusb transfer status codes carried in a transfer error's `errno` (libusb_transfer_status). */
export const UsbTransferStatus = { ERROR: 1, TIMED_OUT: 2, CANCELLED: 3, STALL: 4, NO_DEVICE: 5, OVERFLOW: 6 } as const;
/** libusb_error codes from synchronous calls. */
export const UsbErrorCode = { IO: -1, ACCESS: -3, NO_DEVICE: -4, NOT_FOUND: -5, BUSY: -6, PIPE: -9 } as const;
export const USB_TRANSFER_TYPE_BULK = 2;

export interface UsbErrorLike {
  readonly errno: number;
  readonly message: string;
}

export type UsbTransferCallback = (error: UsbErrorLike | undefined, buffer: Buffer, actualLength: number) => void;

export interface UsbTransferLike {
  submit(buffer: Buffer, callback?: UsbTransferCallback): UsbTransferLike;
  cancel(): boolean;
}

export interface UsbEndpointLike {
  readonly address: number;
  readonly direction: 'in' | 'out';
  readonly transferType: number;
  makeTransfer(timeoutMs: number, callback: UsbTransferCallback): UsbTransferLike;
  clearHalt(callback: (error: UsbErrorLike | undefined) => void): void;
}

export interface UsbInterfaceLike {
  readonly endpoints: readonly UsbEndpointLike[];
  claim(): void;
  release(closeEndpoints: boolean, callback?: (error?: UsbErrorLike) => void): void;
  isKernelDriverActive(): boolean;
  detachKernelDriver(): void;
}

export interface UsbDeviceLike {
  readonly busNumber: number;
  readonly deviceAddress: number;
  readonly deviceDescriptor: { readonly idVendor: number; readonly idProduct: number };
  open(): void;
  close(): void;
  interface(number: number): UsbInterfaceLike;
}

export interface UsbBackend {
  getDeviceList(): UsbDeviceLike[];
}

/** node-usb, loaded on first use so that a machine without libusb can still run everything else. */
export async function loadNodeUsb(): Promise<UsbBackend> {
  const usb = await import('usb');
  return { getDeviceList: () => usb.getDeviceList() as unknown as UsbDeviceLike[] };
}
