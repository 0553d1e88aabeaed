/**
 * Thorlabs DC4100 / DC4104 / LEDD4 four-channel LED driver, ASCII protocol (protocols.md §9.1):
 * 115200 8N1, commands terminated by CR LF, replies by CR LF, channels 0-based (−1 = all). After
 * every command the host asks `e?` for the last error: a first word, an integer code (0 = no
 * error), text up to `:`, then a description. The exact wording of that reply is inferred from
 * Micro-Manager's parser, not from a manual, so the parser here accepts any first word.
 */

export const OUTPUT_COUNT = 4;

/** Status word bits of `r?`. */
export const STATUS = {
  vccFail: 0x2,
  overTemperature: 0x8,
  noLed: [0x20, 0x80, 0x200, 0x800],
  ledOpen: [0x2000, 0x8000, 0x20000, 0x80000],
  atLimit: [0x200000, 0x800000, 0x2000000, 0x8000000],
} as const;

export type OperatingMode = 'constant-current' | 'brightness' | 'external';
export const MODE_CODE: Readonly<Record<OperatingMode, number>> = { 'constant-current': 0, brightness: 1, external: 2 };

export interface ErrorReply {
  readonly code: number;
  readonly description: string;
}

const ERROR_LINE = /^\s*[A-Za-z][^\s]*\s+(-?\d+)\b\s*([^:]*:)?\s*(.*)$/;

/** Parses an `e?` reply; null when the line is not one (e.g. a query's value). */
export function parseErrorReply(line: string): ErrorReply | null {
  const m = ERROR_LINE.exec(line);
  if (!m) return null;
  return { code: Number(m[1]), description: (m[3] || m[2] || '').trim() };
}

export interface StatusFault {
  /** 0-based output, or null for the whole device. */
  readonly output: number | null;
  readonly kind: 'vcc-fail' | 'over-temperature' | 'no-led' | 'led-open' | 'at-limit';
  readonly message: string;
}

/** Every fault a status word reports, each in words an operator can act on. */
export function decodeStatus(word: number): StatusFault[] {
  const faults: StatusFault[] = [];
  if (word & STATUS.vccFail) faults.push({ output: null, kind: 'vcc-fail', message: 'supply voltage failure (VCC fail): check the power supply' });
  if (word & STATUS.overTemperature) {
    faults.push({ output: null, kind: 'over-temperature', message: 'over-temperature: the driver has shut its outputs down; let it cool and check ventilation' });
  }
  for (let o = 0; o < OUTPUT_COUNT; o++) {
    if (word & STATUS.noLed[o]) faults.push({ output: o, kind: 'no-led', message: `LED ${o + 1}: no LED head connected` });
    if (word & STATUS.ledOpen[o]) faults.push({ output: o, kind: 'led-open', message: `LED ${o + 1}: open circuit (LED or cable broken, connector loose)` });
    if (word & STATUS.atLimit[o]) {
      faults.push({ output: o, kind: 'at-limit', message: `LED ${o + 1}: current at its limit: the light is lower than asked (raise the limit or lower the level)` });
    }
  }
  return faults;
}

/** A fault that makes an output unusable (at-limit only dims it). */
export function blocksOutput(fault: StatusFault, output: number): boolean {
  if (fault.kind === 'at-limit') return false;
  return fault.output === null || fault.output === output;
}
