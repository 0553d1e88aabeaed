/**
 * A config value that may be null (meaning "no bound") but defaults to a value when absent:
 * the schema DSL's `nullable` always defaults to null, and a safety or tagging bound that silently
 * switched off when omitted would be the wrong default.
 */
import type { JsonSchema, Schema } from '../config/schema.js';

export function nullableWithDefault<T>(inner: Schema<T>, defaultValue: T, options: { description?: string } = {}): Schema<T | null> {
  return {
    hasDefault: true,
    defaultValue,
    parse: (value, path, issues) => (value === null ? null : inner.parse(value === undefined ? defaultValue : value, path, issues)),
    jsonSchema: (): JsonSchema => ({
      anyOf: [inner.jsonSchema(), { type: 'null' }],
      default: defaultValue,
      ...(options.description ? { description: options.description } : {}),
    }),
  };
}
