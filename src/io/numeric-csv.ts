/**
 * Small CSV tables of numbers (spike times, light pulses, behaviour): a header line naming the
 * columns, then one row per line. Comma-separated; fields may be double-quoted; blank lines and
 * lines starting with `#` are skipped; CRLF is accepted. Errors name the file, line, column and
 * what was expected, because these files are often written by hand or by another lab's script.
 */
import { readFileSync } from 'node:fs';
import { OptoloopError } from '../core/errors.js';

export interface CsvColumn {
  readonly name: string;
  /** `number`: a finite decimal; `label`: any non-empty text (unit ids). */
  readonly kind: 'number' | 'label';
}

export interface CsvTable {
  readonly path: string;
  readonly header: readonly string[];
  readonly rowCount: number;
  /** Numeric columns by name. */
  readonly numbers: ReadonlyMap<string, Float64Array>;
  /** Label columns by name. */
  readonly labels: ReadonlyMap<string, readonly string[]>;
  /** 1-based line number of each row, for messages about rows found wrong later. */
  readonly lineOfRow: Int32Array;
}

export interface CsvReadOptions {
  /** Columns that must be present, in this order, at the start of the header. */
  readonly columns: readonly CsvColumn[];
  /** Further columns allowed after the required ones (all numeric), e.g. behaviour variables. */
  readonly extraNumericColumns?: boolean;
  /** What the file is, for messages: "spikes CSV". */
  readonly what: string;
}

function malformed(path: string, message: string, details: Record<string, unknown>): OptoloopError {
  return new OptoloopError('E_FILE_MALFORMED', `${path}: ${message}`, { stage: 'io.csv', details: { file: path, ...details } });
}

/** Splits one CSV line into fields; throws on an unterminated quote. */
export function splitCsvLine(line: string, path: string, lineNumber: number): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= line.length) throw malformed(path, `line ${lineNumber}: a quoted field is not closed`, { line: lineNumber });
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += line[i++];
      }
      fields.push(value.trim());
      while (i < line.length && line[i] !== ',') {
        if (line[i] !== ' ' && line[i] !== '\t') throw malformed(path, `line ${lineNumber}: text after a closing quote`, { line: lineNumber });
        i++;
      }
    } else {
      const comma = line.indexOf(',', i);
      const end = comma < 0 ? line.length : comma;
      fields.push(line.slice(i, end).trim());
      i = end;
    }
    if (i >= line.length) return fields;
    i++; // past the comma
  }
}

/** Parses CSV text (see the module comment); `path` names it in errors. */
export function parseCsvTable(text: string, path: string, options: CsvReadOptions): CsvTable {
  const lines = text.split('\n');
  let lineIndex = 0;
  let headerLine: string | null = null;
  for (; lineIndex < lines.length; lineIndex++) {
    const l = lines[lineIndex].replace(/\r$/, '');
    if (l.trim() === '' || l.trimStart().startsWith('#')) continue;
    headerLine = l.replace(/^\uFEFF/, '');
    break;
  }
  const expectedHeader = options.columns.map((c) => c.name).join(',');
  if (headerLine === null) {
    throw malformed(path, `${options.what} is empty; expected a header line "${expectedHeader}${options.extraNumericColumns ? ',…' : ''}"`, { line: 1 });
  }
  const headerNumber = lineIndex + 1;
  const header = splitCsvLine(headerLine, path, headerNumber);
  for (let c = 0; c < options.columns.length; c++) {
    if (header[c] !== options.columns[c].name) {
      throw malformed(
        path,
        `line ${headerNumber}, column ${c + 1}: expected the header "${expectedHeader}${options.extraNumericColumns ? ',…' : ''}", got "${headerLine.trim()}"`,
        { line: headerNumber, column: c + 1, expected: options.columns[c].name, actual: header[c] ?? null },
      );
    }
  }
  if (!options.extraNumericColumns && header.length > options.columns.length) {
    throw malformed(path, `line ${headerNumber}: expected the header "${expectedHeader}", got ${header.length} columns ("${headerLine.trim()}")`, {
      line: headerNumber,
    });
  }
  const seen = new Set<string>();
  for (let c = 0; c < header.length; c++) {
    if (header[c] === '') throw malformed(path, `line ${headerNumber}, column ${c + 1}: a column without a name`, { line: headerNumber, column: c + 1 });
    if (seen.has(header[c])) throw malformed(path, `line ${headerNumber}, column ${c + 1}: column "${header[c]}" appears twice`, { line: headerNumber, column: c + 1 });
    seen.add(header[c]);
  }
  const kinds = header.map((_, c) => (c < options.columns.length ? options.columns[c].kind : 'number'));
  const capacity = lines.length;
  const numberColumns = header.map((_, c) => (kinds[c] === 'number' ? new Float64Array(capacity) : null));
  const labelColumns = header.map((_, c) => (kinds[c] === 'label' ? ([] as string[]) : null));
  const lineOfRow = new Int32Array(capacity);
  let rows = 0;
  for (lineIndex++; lineIndex < lines.length; lineIndex++) {
    const l = lines[lineIndex].replace(/\r$/, '');
    if (l.trim() === '' || l.trimStart().startsWith('#')) continue;
    const lineNumber = lineIndex + 1;
    const fields = splitCsvLine(l, path, lineNumber);
    if (fields.length !== header.length) {
      throw malformed(path, `line ${lineNumber}: expected ${header.length} fields (${header.join(',')}), got ${fields.length}`, {
        line: lineNumber,
        expected: header.length,
        actual: fields.length,
      });
    }
    for (let c = 0; c < header.length; c++) {
      const field = fields[c];
      if (kinds[c] === 'number') {
        const value = field === '' ? NaN : Number(field);
        if (!Number.isFinite(value)) {
          throw malformed(path, `line ${lineNumber}, column ${c + 1} (${header[c]}): expected a finite number, got ${JSON.stringify(field)}`, {
            line: lineNumber,
            column: c + 1,
            field: header[c],
            actual: field,
          });
        }
        numberColumns[c]![rows] = value;
      } else {
        if (field === '') {
          throw malformed(path, `line ${lineNumber}, column ${c + 1} (${header[c]}): expected a non-empty ${header[c]}, got ""`, {
            line: lineNumber,
            column: c + 1,
            field: header[c],
          });
        }
        labelColumns[c]!.push(field);
      }
    }
    lineOfRow[rows] = lineNumber;
    rows++;
  }
  const numbers = new Map<string, Float64Array>();
  const labels = new Map<string, readonly string[]>();
  header.forEach((name, c) => {
    if (numberColumns[c]) numbers.set(name, numberColumns[c]!.slice(0, rows));
    else labels.set(name, labelColumns[c]!);
  });
  return { path, header, rowCount: rows, numbers, labels, lineOfRow: lineOfRow.slice(0, rows) };
}

/** Reads and parses a CSV file; E_FILE_NOT_FOUND when it cannot be opened. */
export function readCsvTable(path: string, options: CsvReadOptions): CsvTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new OptoloopError('E_FILE_NOT_FOUND', `${path}: cannot read the ${options.what} (${(cause as Error).message})`, {
      stage: 'io.csv',
      details: { file: path },
      cause,
    });
  }
  return parseCsvTable(text, path, options);
}
