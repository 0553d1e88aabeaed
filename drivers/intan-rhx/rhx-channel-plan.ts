/**
 * Which 16-bit words an RHX waveform frame carries and where each goes in our blocks.
 *
 * RHX writes the enabled outputs in its own channel-list order — port A before B …, amplifier
 * channels in native order within a port, and for one channel its bands WIDE, LOW, HIGH (protocols
 * §1.3) — whatever order the client enabled them in. We deliver channels in the order the rig
 * config lists them (each channel's bands in the configured band order), so the parser scatters
 * wire word w to output column `wordToOutput[w]`.
 */
export const RHX_BANDS = ['wide', 'low', 'high'] as const;
export type RhxBand = (typeof RHX_BANDS)[number];

/** Wire order of bands within one amplifier channel. */
const BAND_WIRE_RANK: Record<RhxBand, number> = { wide: 0, low: 1, high: 2 };

/** The RHX parameter that enables a band's TCP output. */
export const RHX_BAND_PARAMETER: Record<RhxBand, string> = {
  wide: 'TCPDataOutputEnabled',
  low: 'TCPDataOutputEnabledLow',
  high: 'TCPDataOutputEnabledHigh',
};

export interface RhxOutput {
  /** Native channel name, upper case (`A-000`). */
  readonly channel: string;
  readonly band: RhxBand;
  /** The channel name in our blocks: `A-000` for wide band, `A-000.low`, `A-000.high`. */
  readonly name: string;
}

export interface RhxChannelPlan {
  /** Our block's channels, in order. */
  readonly outputs: readonly RhxOutput[];
  /** The frame's words in wire order. */
  readonly wireOrder: readonly RhxOutput[];
  /** Output column of each wire word. */
  readonly wordToOutput: Int32Array;
}

export function planRhxChannels(channels: readonly string[], bands: readonly RhxBand[]): RhxChannelPlan {
  const outputs: RhxOutput[] = [];
  for (const raw of channels) {
    const channel = raw.toUpperCase();
    for (const band of bands) outputs.push({ channel, band, name: band === 'wide' ? channel : `${channel}.${band}` });
  }
  const wireOrder = outputs
    .map((o, index) => ({ o, index }))
    .sort((a, b) => wireKey(a.o) - wireKey(b.o));
  const wordToOutput = new Int32Array(wireOrder.length);
  wireOrder.forEach((w, i) => (wordToOutput[i] = w.index));
  return { outputs, wireOrder: wireOrder.map((w) => w.o), wordToOutput };
}

function wireKey(o: RhxOutput): number {
  const port = o.channel.charCodeAt(0) - 65;
  const native = Number(o.channel.slice(2));
  return (port * 10_000 + native) * 4 + BAND_WIRE_RANK[o.band];
}
