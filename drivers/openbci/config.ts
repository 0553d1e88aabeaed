/**
 * Rig config of an OpenBCI Cyton source (`source.kind: openbci`).
 */
import * as s from '../../src/config/schema.js';
import { reconnectSchema } from '../binding/config.js';
import { GAINS, INPUT_TYPES } from './protocol.js';

export const openBciChannelSettingsSchema = s.object(
  {
    gain: s.oneOf(GAINS, { default: 24, description: 'ADS1299 programmable gain; sets the scale 4.5 V / gain / (2^23 − 1).' }),
    input: s.oneOf(INPUT_TYPES, { default: 'normal', description: 'ADS1299 input multiplexer: normal electrode input, or an internal test / measurement signal.' }),
    bias: s.boolean({ default: true, description: 'Include the channel in the bias (driven-ground) derivation.' }),
    srb2: s.boolean({ default: true, description: 'Connect the channel’s negative input to SRB2 (common reference).' }),
    srb1: s.boolean({ default: false, description: 'Connect every negative input to SRB1 (applies board-wide on the ADS1299).' }),
    powerDown: s.boolean({ default: false, description: 'Power the channel down (it then reads zeros).' }),
  },
  { description: 'Settings sent to every channel (`x…X` command) after the defaults are restored.' },
);

export const openBciSourceSchema = s.object(
  {
    kind: s.literal('openbci'),
    port: s.string({ minLength: 1, description: 'Serial device of the Cyton USB dongle, e.g. /dev/serial/by-id/usb-FTDI_FT231X…-if00-port0 or /dev/ttyUSB0.' }),
    baudRate: s.number({ integer: true, min: 1, default: 115200, description: 'The dongle’s serial rate (115200 unless its radio was switched).' }),
    channels: s.oneOf([8, 16] as const, {
      default: 8,
      description: '8: the Cyton alone, 250 Hz. 16: with the daisy module, 125 Hz frames (board and daisy packets alternate).',
    }),
    channelSettings: openBciChannelSettingsSchema,
    gains: s.nullable(s.array(s.oneOf(GAINS), { minItems: 8, maxItems: 16 }), {
      description: 'Per-channel gains overriding channelSettings.gain, one per channel in order; null uses channelSettings.gain for all.',
    }),
    timestamps: s.boolean({
      default: false,
      description: 'Turn on time-stamping (`<`): packets then carry the board’s ms clock, delivered as each block’s deviceTimestamp.',
    }),
    initTimeoutMs: s.number({ above: 0, default: 3000, description: 'Wait this long for each text reply (the banner after a soft reset takes about 0.5 s).' }),
    silenceTimeoutMs: s.number({ above: 0, default: 1000, description: 'While streaming, no byte for this long is a timeout: the board is re-initialised.' }),
    maxBlockFrames: s.number({ integer: true, min: 1, max: 4096, default: 32, description: 'Largest block; a block is also emitted after every read.' }),
    reconnect: reconnectSchema,
  },
  {
    description: 'An OpenBCI Cyton (optionally with daisy) through its USB radio dongle.',
    refine: (v, path, issues) => {
      if (v.gains && v.gains.length !== v.channels) {
        issues.push({ path: `${path ? `${path}.` : ''}gains`, message: `expected an array of ${v.channels} (one gain per channel), got an array of ${v.gains.length}` });
      }
    },
  },
);

export type OpenBciSourceConfig = s.Infer<typeof openBciSourceSchema>;
