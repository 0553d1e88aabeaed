import { OptoloopError } from '../../src/core/errors.js';

/**
 * The channels of a SpikeGLX stream and the subset we fetch.
 *
 * `GETSTREAMACQCHANS js ip` answers channel counts by type, in acquisition order: imec (js ±2)
 * AP, LF, SY; nidq (0) MN, MA, XA, XD; OneBox (1) XA, XD, SY. Channel indices run through the
 * types in that order. SY (the imec/OneBox status and sync word) and XD (packed digital lines) are
 * bit fields, not voltages: they are never delivered as neural channels. When the configured
 * subset lists them they are fetched (so the FETCH subset is exactly what was configured) and
 * stripped from the block.
 *
 * The FETCH subset is the configured indices in ascending order (SpikeGLX returns a subset in
 * ascending channel order whatever order it was asked in), sent as `id#id#…`, or `-1#` when it is
 * every acquired channel.
 */
export type ChannelType = 'AP' | 'LF' | 'SY' | 'MN' | 'MA' | 'XA' | 'XD';

const TYPES_BY_JS: Record<number, readonly ChannelType[]> = {
  2: ['AP', 'LF', 'SY'],
  [-2]: ['AP', 'LF', 'SY'],
  0: ['MN', 'MA', 'XA', 'XD'],
  1: ['XA', 'XD', 'SY'],
};

const NEURAL: ReadonlySet<ChannelType> = new Set(['AP', 'LF', 'MN', 'MA', 'XA']);

export interface StreamChannel {
  readonly index: number;
  readonly type: ChannelType;
  /** `AP0`, `LF12`, `SY0`, `MN3`: type and index within the type. */
  readonly name: string;
}

export interface FetchPlan {
  /** Every acquired channel of the stream. */
  readonly all: readonly StreamChannel[];
  /** Channels fetched, ascending. */
  readonly fetched: readonly StreamChannel[];
  /** Channels delivered (fetched minus SY/XD), ascending. */
  readonly delivered: readonly StreamChannel[];
  /** Block column of each fetched column, −1 for a stripped one. */
  readonly fetchedToDelivered: Int32Array;
  /** The FETCH channel-subset argument. */
  readonly subsetArgument: string;
}

export function parseAcqChans(js: number, reply: string, where: string): StreamChannel[] {
  const types = TYPES_BY_JS[js];
  const counts = reply.trim().split(/[\s,]+/).map(Number);
  if (!types || counts.length !== types.length || counts.some((c) => !Number.isInteger(c) || c < 0)) {
    throw new OptoloopError('E_DEVICE_PROTOCOL', `${where}: GETSTREAMACQCHANS answered ${JSON.stringify(reply)}; expected ${types?.length ?? '?'} counts (${types?.join(', ')})`, {
      stage: 'drivers/spikeglx-remote',
      details: { reply, js },
    });
  }
  const out: StreamChannel[] = [];
  types.forEach((type, t) => {
    for (let k = 0; k < counts[t]; k++) out.push({ index: out.length, type, name: `${type}${k}` });
  });
  return out;
}

export function planFetch(all: readonly StreamChannel[], configured: readonly number[] | null, js: number, where: string): FetchPlan {
  let indices: number[];
  if (configured === null) {
    const wanted: ReadonlySet<ChannelType> = js === 2 || js === -2 ? new Set(['AP']) : NEURAL;
    indices = all.filter((c) => wanted.has(c.type)).map((c) => c.index);
  } else {
    indices = [...new Set(configured)].sort((a, b) => a - b);
    const bad = indices.find((i) => i >= all.length);
    if (bad !== undefined) {
      throw new OptoloopError('E_CONFIG_INVALID', `${where}: channel ${bad} is not acquired; the stream has channels 0…${all.length - 1}`, {
        stage: 'drivers/spikeglx-remote',
        details: { channel: bad, acquired: all.length },
      });
    }
  }
  const fetched = indices.map((i) => all[i]);
  const delivered = fetched.filter((c) => NEURAL.has(c.type));
  if (delivered.length === 0) {
    throw new OptoloopError('E_CONFIG_INVALID', `${where}: no neural channel to deliver (the stream has ${all.length} channel(s): ${summary(all)})`, {
      stage: 'drivers/spikeglx-remote',
      details: { acquired: all.length },
    });
  }
  const fetchedToDelivered = new Int32Array(fetched.length);
  let column = 0;
  fetched.forEach((c, i) => (fetchedToDelivered[i] = NEURAL.has(c.type) ? column++ : -1));
  const subsetArgument = fetched.length === all.length ? '-1#' : indices.join('#');
  return { all, fetched, delivered, fetchedToDelivered, subsetArgument };
}

function summary(all: readonly StreamChannel[]): string {
  const counts = new Map<ChannelType, number>();
  for (const c of all) counts.set(c.type, (counts.get(c.type) ?? 0) + 1);
  return [...counts].map(([t, n]) => `${n} ${t}`).join(', ') || 'none';
}
