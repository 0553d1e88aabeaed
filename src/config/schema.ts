/**
 * A small declarative schema: one definition gives validation with defaults filled in, error
 * messages that name the path (`pipeline.detect.thresholdUv: expected a negative number, got 50`),
 * the TypeScript type of the validated value, and a JSON Schema for editors (`config/schema.json`).
 *
 * Written here rather than taken from a JSON-Schema library because the messages are part of the
 * product: a rig operator reads them, and they must say what was expected in the operator's terms.
 */
import { describeValue } from '../core/errors.js';

export interface Issue {
  readonly path: string;
  readonly message: string;
}

export type JsonSchema = Record<string, unknown>;

export interface Schema<T> {
  /** Returns the value with defaults filled in, or undefined after pushing issues. */
  parse(value: unknown, path: string, issues: Issue[]): T | undefined;
  /** Present when a missing value takes a default (or is allowed to be absent). */
  readonly hasDefault: boolean;
  readonly defaultValue: T | undefined;
  jsonSchema(): JsonSchema;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

function joinPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

function issue(issues: Issue[], path: string, expected: string, got: unknown): undefined {
  issues.push({ path: path || '(root)', message: `expected ${expected}, got ${describeValue(got)}` });
  return undefined;
}

interface Common<T> {
  readonly default?: T;
  readonly description?: string;
}

function base<T>(
  options: Common<T>,
  json: JsonSchema,
  check: (value: unknown, path: string, issues: Issue[]) => T | undefined,
): Schema<T> {
  const hasDefault = 'default' in options;
  return {
    hasDefault,
    defaultValue: options.default,
    parse: check,
    jsonSchema: () => ({
      ...json,
      ...(options.description ? { description: options.description } : {}),
      ...(hasDefault && options.default !== undefined ? { default: options.default } : {}),
    }),
  };
}

export interface NumberOptions extends Common<number> {
  readonly integer?: boolean;
  /** Inclusive bounds. */
  readonly min?: number;
  readonly max?: number;
  /** Exclusive bounds. */
  readonly above?: number;
  readonly below?: number;
}

export function number(options: NumberOptions = {}): Schema<number> {
  const kind = options.integer ? 'integer' : 'number';
  const json: JsonSchema = { type: kind };
  if (options.min !== undefined) json.minimum = options.min;
  if (options.above !== undefined) json.exclusiveMinimum = options.above;
  if (options.max !== undefined) json.maximum = options.max;
  if (options.below !== undefined) json.exclusiveMaximum = options.below;
  const bounds: string[] = [];
  if (options.min !== undefined) bounds.push(`≥ ${options.min}`);
  if (options.above !== undefined) bounds.push(`> ${options.above}`);
  if (options.max !== undefined) bounds.push(`≤ ${options.max}`);
  if (options.below !== undefined) bounds.push(`< ${options.below}`);
  const article = options.integer ? 'an' : 'a';
  let expected = `${article} ${kind}${bounds.length ? ` ${bounds.join(' and ')}` : ''}`;
  if (bounds.length === 1 && options.below === 0) expected = `a negative ${kind}`;
  if (bounds.length === 1 && options.above === 0) expected = `a positive ${kind}`;
  return base(options, json, (value, path, issues) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return issue(issues, path, expected, value);
    if (options.integer && !Number.isInteger(value)) return issue(issues, path, expected, value);
    if (options.min !== undefined && value < options.min) return issue(issues, path, expected, value);
    if (options.max !== undefined && value > options.max) return issue(issues, path, expected, value);
    if (options.above !== undefined && !(value > options.above)) return issue(issues, path, expected, value);
    if (options.below !== undefined && !(value < options.below)) return issue(issues, path, expected, value);
    return value;
  });
}

export interface StringOptions extends Common<string> {
  readonly minLength?: number;
  readonly pattern?: RegExp;
  readonly patternDescription?: string;
}

export function string(options: StringOptions = {}): Schema<string> {
  const expected = options.patternDescription ?? (options.minLength ? 'a non-empty string' : 'a string');
  const json: JsonSchema = { type: 'string' };
  if (options.minLength) json.minLength = options.minLength;
  if (options.pattern) json.pattern = options.pattern.source;
  return base(options, json, (value, path, issues) => {
    if (typeof value !== 'string') return issue(issues, path, expected, value);
    if (options.minLength !== undefined && value.length < options.minLength) return issue(issues, path, expected, value);
    if (options.pattern && !options.pattern.test(value)) return issue(issues, path, expected, value);
    return value;
  });
}

export function boolean(options: Common<boolean> = {}): Schema<boolean> {
  return base(options, { type: 'boolean' }, (value, path, issues) =>
    typeof value === 'boolean' ? value : issue(issues, path, 'true or false', value),
  );
}

export function oneOf<const V extends string | number>(values: readonly V[], options: Common<V> = {}): Schema<V> {
  const expected = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return base(options, { enum: values }, (value, path, issues) =>
    values.includes(value as V) ? (value as V) : issue(issues, path, expected, value),
  );
}

export interface ArrayOptions<T> extends Common<T[]> {
  readonly minItems?: number;
  readonly maxItems?: number;
}

export function array<T>(item: Schema<T>, options: ArrayOptions<T> = {}): Schema<T[]> {
  const count =
    options.minItems !== undefined && options.maxItems === options.minItems
      ? ` of ${options.minItems}`
      : options.minItems
        ? ` of at least ${options.minItems}`
        : '';
  const expected = `an array${count}`;
  const json: JsonSchema = { type: 'array', items: item.jsonSchema() };
  if (options.minItems !== undefined) json.minItems = options.minItems;
  if (options.maxItems !== undefined) json.maxItems = options.maxItems;
  return base(options, json, (value, path, issues) => {
    if (!Array.isArray(value)) return issue(issues, path, expected, value);
    if (options.minItems !== undefined && value.length < options.minItems) return issue(issues, path, expected, value);
    if (options.maxItems !== undefined && value.length > options.maxItems) {
      return issue(issues, path, `an array of at most ${options.maxItems}`, value);
    }
    const before = issues.length;
    const out = value.map((v, i) => item.parse(v, joinPath(path, i), issues));
    return issues.length === before ? (out as T[]) : undefined;
  });
}

/** A value that may be absent (undefined) or null; absent and null both give null. */
export function nullable<T>(inner: Schema<T>, options: { description?: string } = {}): Schema<T | null> {
  return {
    hasDefault: true,
    defaultValue: null,
    parse: (value, path, issues) => (value === undefined || value === null ? null : inner.parse(value, path, issues)),
    jsonSchema: () => ({
      anyOf: [inner.jsonSchema(), { type: 'null' }],
      ...(options.description ? { description: options.description } : {}),
    }),
  };
}

type Shape = Record<string, Schema<unknown>>;
export type ObjectOf<S extends Shape> = { [K in keyof S]: Infer<S[K]> };

export interface ObjectOptions<S extends Shape> {
  readonly description?: string;
  /** When every field has a default, a missing object takes its defaults unless this is false. */
  readonly optional?: boolean;
  /** Cross-field checks after the fields are valid; push issues with full paths. */
  readonly refine?: (value: ObjectOf<S>, path: string, issues: Issue[]) => void;
}

/** An object with known keys: unknown keys are rejected (a typo must not pass silently). */
export function object<S extends Shape>(shape: S, options: ObjectOptions<S> = {}): Schema<ObjectOf<S>> {
  const keys = Object.keys(shape);
  const allDefaulted = keys.every((k) => shape[k].hasDefault);
  const hasDefault = options.optional !== false && allDefaulted;
  const schema: Schema<ObjectOf<S>> = {
    hasDefault,
    defaultValue: undefined,
    parse(value, path, issues) {
      if (value === undefined && hasDefault) value = {};
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return issue(issues, path, 'an object', value);
      const input = value as Record<string, unknown>;
      const before = issues.length;
      for (const key of Object.keys(input)) {
        if (!(key in shape)) {
          const near = closest(key, keys);
          issues.push({
            path: joinPath(path, key),
            message: `unknown key${near ? ` (did you mean "${near}"?)` : ''}; expected one of ${keys.join(', ')}`,
          });
        }
      }
      const out: Record<string, unknown> = {};
      for (const key of keys) {
        const field = shape[key];
        const raw = input[key];
        if (raw === undefined) {
          if (field.hasDefault) {
            out[key] = field.defaultValue === undefined ? field.parse(undefined, joinPath(path, key), issues) : clone(field.defaultValue);
          } else {
            issues.push({ path: joinPath(path, key), message: `missing; expected ${describeExpected(field)}` });
          }
          continue;
        }
        out[key] = field.parse(raw, joinPath(path, key), issues);
      }
      if (issues.length !== before) return undefined;
      options.refine?.(out as ObjectOf<S>, path, issues);
      return issues.length === before ? (out as ObjectOf<S>) : undefined;
    },
    jsonSchema() {
      const properties: Record<string, JsonSchema> = {};
      const required: string[] = [];
      for (const key of keys) {
        properties[key] = shape[key].jsonSchema();
        if (!shape[key].hasDefault) required.push(key);
      }
      return {
        type: 'object',
        additionalProperties: false,
        properties,
        ...(required.length ? { required } : {}),
        ...(options.description ? { description: options.description } : {}),
      };
    },
  };
  return schema;
}

/**
 * A union of object schemas told apart by a string field (e.g. `kind: spikeglx`), so that errors
 * speak of the chosen variant instead of every variant at once.
 */
export function tagged<K extends string, V extends Record<string, Schema<Record<string, unknown>>>>(
  tag: K,
  variants: V,
  options: { description?: string; default?: Infer<V[keyof V]> } = {},
): Schema<Infer<V[keyof V]>> {
  const names = Object.keys(variants);
  return {
    hasDefault: 'default' in options,
    defaultValue: options.default,
    parse(value, path, issues) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return issue(issues, path, 'an object', value);
      const name = (value as Record<string, unknown>)[tag];
      if (typeof name !== 'string' || !names.includes(name)) {
        return issue(issues, joinPath(path, tag), `one of ${names.map((n) => JSON.stringify(n)).join(', ')}`, name);
      }
      return variants[name].parse(value, path, issues) as Infer<V[keyof V]> | undefined;
    },
    jsonSchema: () => ({
      oneOf: names.map((n) => variants[n].jsonSchema()),
      ...(options.description ? { description: options.description } : {}),
    }),
  };
}

/** The tag field of a tagged variant: a constant string. */
export function literal<const L extends string>(value: L, options: { description?: string } = {}): Schema<L> {
  return base(options, { const: value }, (v, path, issues) => (v === value ? value : issue(issues, path, JSON.stringify(value), v)));
}

/** A map from user-chosen names to values of one schema (e.g. named rules or outputs). */
export function record<T>(item: Schema<T>, options: Common<Record<string, T>> = {}): Schema<Record<string, T>> {
  return base(options, { type: 'object', additionalProperties: item.jsonSchema() }, (value, path, issues) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return issue(issues, path, 'an object', value);
    const before = issues.length;
    const out: Record<string, T> = {};
    for (const [k, v] of Object.entries(value)) out[k] = item.parse(v, joinPath(path, k), issues) as T;
    return issues.length === before ? out : undefined;
  });
}

function describeExpected(schema: Schema<unknown>): string {
  const issues: Issue[] = [];
  schema.parse(Symbol('probe') as unknown, '', issues);
  const m = issues[0]?.message.match(/^expected (.*), got/);
  return m ? m[1] : 'a value';
}

function clone<T>(value: T): T {
  return typeof value === 'object' && value !== null ? structuredClone(value) : value;
}

function closest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

/** Validates a whole document; returns the value or the list of issues. */
export function validate<T>(schema: Schema<T>, value: unknown): { ok: true; value: T } | { ok: false; issues: Issue[] } {
  const issues: Issue[] = [];
  const out = schema.parse(value, '', issues);
  if (issues.length || out === undefined) return { ok: false, issues };
  return { ok: true, value: out };
}
