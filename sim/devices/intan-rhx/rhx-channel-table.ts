/**
 * The emulated controller's amplifier channels and which band outputs are enabled for TCP, with
 * the word order RHX writes (protocols §1.3): ports A…H in turn, amplifier channels in native order
 * within a port, and for one channel WIDE, LOW, HIGH. Written from the spec independently of the
 * driver's channel plan, so that tests of one check the other.
 */
export const RHX_EMULATED_BANDS = ['wide', 'low', 'high'] as const;
export type RhxEmulatedBand = (typeof RHX_EMULATED_BANDS)[number];

/** The parameter suffix that enables each band: `A-000.TCPDataOutputEnabled`, `…Low`, `…High`. */
export const BAND_BY_PARAMETER: Record<string, RhxEmulatedBand> = {
  tcpdataoutputenabled: 'wide',
  tcpdataoutputenabledlow: 'low',
  tcpdataoutputenabledhigh: 'high',
};

export interface RhxWord {
  /** Index among all amplifier channels of the controller (the frame provider's channel). */
  readonly amplifier: number;
  readonly band: RhxEmulatedBand;
  readonly name: string;
}

export class RhxChannelTable {
  /** Native names in controller order, …, B-000, … */
  readonly amplifierNames: string[] = [];
  private readonly indexByName = new Map<string, number>();
  private readonly enabled: Uint8Array;

  constructor(amplifiersPerPort: Readonly<Record<string, number>>) {
    for (const port of 'ABCDEFGH') {
      const count = amplifiersPerPort[port] ?? 0;
      for (let i = 0; i < count; i++) {
        const name = `${port}-${String(i).padStart(3, '0')}`;
        this.indexByName.set(name, this.amplifierNames.length);
        this.amplifierNames.push(name);
      }
    }
    this.enabled = new Uint8Array(this.amplifierNames.length * RHX_EMULATED_BANDS.length);
  }

  get amplifierCount(): number {
    return this.amplifierNames.length;
  }

  indexOf(name: string): number {
    return this.indexByName.get(name.toUpperCase()) ?? -1;
  }

  setEnabled(amplifier: number, band: RhxEmulatedBand, on: boolean): void {
    this.enabled[amplifier * 3 + RHX_EMULATED_BANDS.indexOf(band)] = on ? 1 : 0;
  }

  isEnabled(amplifier: number, band: RhxEmulatedBand): boolean {
    return this.enabled[amplifier * 3 + RHX_EMULATED_BANDS.indexOf(band)] === 1;
  }

  clear(): void {
    this.enabled.fill(0);
  }

  /** The enabled words of one frame, in the order RHX writes them. */
  wireWords(): RhxWord[] {
    const words: RhxWord[] = [];
    for (let a = 0; a < this.amplifierNames.length; a++) {
      for (const band of RHX_EMULATED_BANDS) {
        if (this.isEnabled(a, band)) words.push({ amplifier: a, band, name: band === 'wide' ? this.amplifierNames[a] : `${this.amplifierNames[a]}.${band}` });
      }
    }
    return words;
  }
}
