/**
 * OpenBCI Cyton serial protocol through the USB dongle (protocols.md §3): one-character ASCII
 * commands, text replies ending in `$$$`, and while streaming 33-byte binary packets at 250 Hz:
 * 0xA0, sample number, 8 × 24-bit big-endian two's-complement samples, 6 aux bytes, stop byte 0xCX.
 */
import { OptoloopError } from '../../src/core/errors.js';

export const PACKET_BYTES = 33;
export const HEADER = 0xa0;
/** Stop bytes are 0xC0 | type; types 0–6 are defined (3–6 carry the board's ms clock). */
export const STOP_MIN = 0xc0;
export const STOP_MAX = 0xc6;
export const END_OF_TEXT = '$$$';
/** The dongle's radio link streams 250 packets per second, whatever the ADS1299 could do. */
export const PACKET_RATE_HZ = 250;

export const CMD_STREAM_START = 'b';
export const CMD_STREAM_STOP = 's';
export const CMD_SOFT_RESET = 'v';
export const CMD_DEFAULTS = 'd';
export const CMD_MODE_8 = 'c';
export const CMD_MODE_16 = 'C';
export const CMD_TIMESTAMP_ON = '<';
export const CMD_TIMESTAMP_OFF = '>';

/** ADS1299 programmable gains, indexed by the gain code of the channel-settings command. */
export const GAINS = [1, 2, 4, 6, 8, 12, 24] as const;
export type Gain = (typeof GAINS)[number];

/** The channel character of the settings command: '1'–'8' for the board, 'Q'…'I' for the daisy. */
const CHANNEL_CHARS = '12345678QWERTYUI';

export const INPUT_TYPES = ['normal', 'shorted', 'bias-meas', 'mvdd', 'temp', 'testsig', 'bias-drp', 'bias-drn'] as const;
export type InputType = (typeof INPUT_TYPES)[number];

export interface ChannelSettings {
  readonly powerDown: boolean;
  readonly gain: Gain;
  readonly input: InputType;
  readonly bias: boolean;
  readonly srb2: boolean;
  readonly srb1: boolean;
}

/** The board's defaults after `d` (and after `v`). */
export const DEFAULT_CHANNEL_SETTINGS: ChannelSettings = { powerDown: false, gain: 24, input: 'normal', bias: true, srb2: true, srb1: false };

/**
 * µV per count for a gain: 4.5 V / gain / (2^23 − 1), in µV. Evaluated in this order on purpose:
 * the scale a reader of the OpenBCI documentation computes is exactly this float64.
 */
export function uvPerCount(gain: number): number {
  return (4.5 / gain / (2 ** 23 - 1)) * 1e6;
}

/** `x C P G I B S2 S1 X` for channel 1–16. */
export function channelSettingsCommand(channel: number, s: ChannelSettings): string {
  if (!Number.isInteger(channel) || channel < 1 || channel > 16) {
    throw new OptoloopError('E_OPTIONS_INVALID', `OpenBCI channel must be 1…16, got ${channel}`, { stage: 'drivers/openbci' });
  }
  const gainCode = GAINS.indexOf(s.gain);
  const inputCode = INPUT_TYPES.indexOf(s.input);
  if (gainCode < 0 || inputCode < 0) {
    throw new OptoloopError('E_OPTIONS_INVALID', `OpenBCI channel ${channel}: gain must be one of ${GAINS.join(', ')} and input one of ${INPUT_TYPES.join(', ')}`, {
      stage: 'drivers/openbci',
    });
  }
  const bit = (b: boolean) => (b ? '1' : '0');
  return `x${CHANNEL_CHARS[channel - 1]}${bit(s.powerDown)}${gainCode}${inputCode}${bit(s.bias)}${bit(s.srb2)}${bit(s.srb1)}X`;
}

/** A 24-bit big-endian two's-complement sample at `bytes[p]`. */
export function int24be(bytes: Uint8Array, p: number): number {
  const v = (bytes[p] << 16) | (bytes[p + 1] << 8) | bytes[p + 2];
  return v & 0x800000 ? v - 0x1000000 : v;
}
