/** Cell-type colours: fixed for the common names, a stable hash-picked colour for any other label. */

const NAMED: Record<string, string> = {
  pv: '#e5484d',
  'fast-spiking': '#e5484d',
  fs: '#e5484d',
  sst: '#30a46c',
  som: '#30a46c',
  vip: '#f5a524',
  pyramidal: '#3e8ed0',
  pyr: '#3e8ed0',
  rs: '#3e8ed0',
  'regular-spiking': '#3e8ed0',
  pkc_ss: '#8e4ec6',
  pkc_cs: '#c870d6',
  mli: '#e5484d',
  goc: '#30a46c',
  mfb: '#f5a524',
  grc: '#3e8ed0',
};
const PALETTE = ['#12a594', '#d6409f', '#ad7f58', '#6e56cf', '#46a758', '#e54666', '#0090ff', '#ffc53d'];

export const UNLABELLED = '#8a94a3';
export const UNASSIGNED = '#4a5260';

export function typeColour(label: string | null): string {
  if (!label) return UNLABELLED;
  const key = label.toLowerCase();
  if (NAMED[key]) return NAMED[key];
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

/** '#rrggbb' → 0xAABBGGRR, the byte order of an ImageData viewed as Uint32 on little-endian hosts. */
export function packRgba(hex: string): number {
  const r = parseInt(hex.slice(1, 3), 16);
  const g = parseInt(hex.slice(3, 5), 16);
  const b = parseInt(hex.slice(5, 7), 16);
  return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
}
