/**
 * SpikeGLX `.meta` files: one `key=value` per line, split on the first `=`; keys starting with `~`
 * hold a list written `(header)(entry)(entry)…`. Typed getters raise errors naming the file, the
 * key, its line and what was expected.
 */
import { readFileSync } from 'node:fs';
import { fileMalformed, fileNotFound } from '../file-errors.js';

export interface MetaList {
  /** Fields of the first parenthesised group, split on commas. */
  readonly header: readonly string[];
  /** The remaining groups, as written (fields separated by spaces, colons or semicolons by list). */
  readonly entries: readonly string[];
}

export class SpikeGlxMeta {
  private readonly values = new Map<string, { value: string; line: number }>();

  constructor(readonly file: string, text: string) {
    const lines = text.split(/\r?\n/);
    lines.forEach((raw, index) => {
      const line = raw.trim();
      if (line === '') return;
      const eq = line.indexOf('=');
      if (eq <= 0) {
        throw fileMalformed({ file, field: `line ${index + 1}`, expected: 'key=value', actual: JSON.stringify(line.slice(0, 60)) });
      }
      this.values.set(line.slice(0, eq), { value: line.slice(eq + 1), line: index + 1 });
    });
  }

  static read(file: string): SpikeGlxMeta {
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch (cause) {
      throw fileNotFound(file, cause, 'SpikeGLX .meta file');
    }
    return new SpikeGlxMeta(file, text);
  }

  has(key: string): boolean {
    return this.values.has(key);
  }

  keys(): string[] {
    return [...this.values.keys()];
  }

  get(key: string): string | undefined {
    return this.values.get(key)?.value;
  }

  /** Where a key is, for error messages: `imSampRate (line 12)`. */
  where(key: string): string {
    const entry = this.values.get(key);
    return entry ? `${key} (line ${entry.line})` : key;
  }

  string(key: string, why = ''): string {
    const value = this.get(key);
    if (value === undefined) {
      throw fileMalformed({ file: this.file, field: key, expected: `a "${key}=…" line${why ? ` (${why})` : ''}` }, 'missing key');
    }
    return value;
  }

  number(key: string, options: { integer?: boolean; positive?: boolean; nonNegative?: boolean; why?: string } = {}): number {
    const text = this.string(key, options.why);
    const value = Number(text);
    const integer = options.integer ?? false;
    const kind = `${options.positive ? 'a positive ' : options.nonNegative ? 'a non-negative ' : integer ? 'an ' : 'a '}${integer ? 'integer' : 'number'}`;
    if (
      text.trim() === '' ||
      !Number.isFinite(value) ||
      (integer && !Number.isSafeInteger(value)) ||
      (options.positive && !(value > 0)) ||
      (options.nonNegative && value < 0)
    ) {
      throw fileMalformed({ file: this.file, field: this.where(key), expected: kind, actual: JSON.stringify(text) });
    }
    return value;
  }

  optionalNumber(key: string, options: { integer?: boolean; positive?: boolean; nonNegative?: boolean } = {}): number | null {
    return this.has(key) ? this.number(key, options) : null;
  }

  /** A comma-separated list of integers of a known length, e.g. `snsApLfSy=384,0,1`. */
  integers(key: string, count: number, why = ''): number[] {
    const text = this.string(key, why);
    const parts = text.split(',').map((p) => p.trim());
    const values = parts.map(Number);
    if (parts.length !== count || values.some((v, i) => parts[i] === '' || !Number.isSafeInteger(v) || v < 0)) {
      throw fileMalformed({ file: this.file, field: this.where(key), expected: `${count} comma-separated non-negative integers`, actual: JSON.stringify(text) });
    }
    return values;
  }

  /** A `~` list: `(header)(entry)…`; null when the key is absent. */
  list(key: string): MetaList | null {
    const text = this.get(key);
    if (text === undefined) return null;
    const groups: string[] = [];
    let i = 0;
    while (i < text.length) {
      if (text[i] !== '(') {
        throw fileMalformed({ file: this.file, field: `${this.where(key)} character ${i + 1}`, expected: '"(" opening a list entry', actual: JSON.stringify(text.slice(i, i + 20)) });
      }
      const close = text.indexOf(')', i + 1);
      if (close < 0) {
        throw fileMalformed({ file: this.file, field: `${this.where(key)} character ${i + 1}`, expected: '")" closing the list entry', actual: JSON.stringify(text.slice(i, i + 20)) });
      }
      groups.push(text.slice(i + 1, close));
      i = close + 1;
    }
    if (groups.length === 0) {
      throw fileMalformed({ file: this.file, field: this.where(key), expected: 'a list "(header)(entry)…"', actual: JSON.stringify(text.slice(0, 40)) });
    }
    return { header: groups[0].split(',').map((s) => s.trim()), entries: groups.slice(1) };
  }
}

/**
 * Expands a printer-style channel list (`0:383,768`, `all` is handled by the caller) into sorted,
 * unique channel indices.
 */
export function parseChannelSubset(text: string, file: string, field: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?::\s*(\d+)\s*)?$/.exec(part);
    if (!m) {
      throw fileMalformed({ file, field, expected: 'a channel list such as "0:383,768"', actual: JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text) });
    }
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw fileMalformed({ file, field, expected: 'ranges written low:high', actual: JSON.stringify(part.trim()) });
    for (let c = from; c <= to; c++) out.push(c);
  }
  const sorted = [...new Set(out)].sort((a, b) => a - b);
  return sorted;
}

/** Writes a channel index list in SpikeGLX's printer style: `0:383,768`. */
export function formatChannelSubset(channels: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < channels.length) {
    let j = i;
    while (j + 1 < channels.length && channels[j + 1] === channels[j] + 1) j++;
    parts.push(j === i ? `${channels[i]}` : `${channels[i]}:${channels[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
