/**
 * Config of the firmware bridge's USB bulk stream as a sample source (`source.kind: usb-bridge`).
 * The defaults match the Teensy 4 firmware in "Dual Serial" USB mode: the stream is the bulk IN
 * endpoint of the second CDC data interface.
 */
import * as s from '../../src/config/schema.js';

export const usbBridgeSourceSchema = s.object(
  {
    kind: s.literal('usb-bridge'),
    vendorId: s.number({ integer: true, min: 0, max: 0xffff, description: 'USB vendor id of the bridge (0x16C0 for a Teensy).' }),
    productId: s.number({ integer: true, min: 0, max: 0xffff, description: 'USB product id of the bridge (0x048B for a Teensy in Dual Serial mode).' }),
    path: s.string({ default: '', description: 'usb:<bus>-<address> to choose one of several bridges; empty takes the first.' }),
    interfaceNumber: s.number({ integer: true, min: 0, max: 255, default: 3, description: 'Interface holding the stream endpoint.' }),
    endpointAddress: s.number({ integer: true, min: 0x81, max: 0x8f, default: 0x84, description: 'Bulk IN endpoint address of the stream (check with lsusb -v: the default is not verified on hardware).' }),
    channelCount: s.number({ integer: true, min: 1, max: 32, description: 'Channels streamed (STREAM_START channel_count).' }),
    sampleRateHz: s.number({ integer: true, min: 1, max: 1_000_000, description: 'Sample rate asked of the bridge.' }),
    framesPerPacket: s.number({ integer: true, min: 1, max: 2033, default: 30, description: 'Frames per stream packet (one block each): 30 = 1 ms at 30 kHz.' }),
    uvPerCount: s.number({ above: 0, default: 1, description: 'µV per count of every channel (the front end’s scale).' }),
    streamId: s.nullable(s.string({ minLength: 1 }), { description: 'Stream name; null derives one from the USB ids.' }),
    transferSize: s.number({ integer: true, min: 512, max: 1_048_576, default: 16_384, description: 'Bytes per bulk transfer (a multiple of 512).' }),
    transfersInFlight: s.number({ integer: true, min: 1, max: 64, default: 4, description: 'Bulk transfers kept submitted.' }),
  },
  {
    description: 'The optoloop firmware bridge’s sample stream over USB bulk (firmware-bridge/PROTOCOL.md §9).',
    refine: (v, path, issues) => {
      if (v.framesPerPacket * v.channelCount * 2 + 30 > 4096) {
        issues.push({ path: `${path ? `${path}.` : ''}framesPerPacket`, message: `expected a packet of at most 4096 bytes: at most ${Math.floor(4066 / (2 * v.channelCount))} frames of ${v.channelCount} channels, got ${v.framesPerPacket}` });
      }
    },
  },
);

export type UsbBridgeSourceConfig = s.Infer<typeof usbBridgeSourceSchema>;
