import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { OptoloopError } from '../core/errors.js';
import { validate } from './schema.js';
import { rigConfigSchema, type RigConfig } from './rig-config.js';

/**
 * Reads a rig config (YAML or JSON; JSON is YAML), follows `extends: <base file>` chains (the
 * base's values first, this file's on top, objects merged key by key, arrays replaced), validates
 * the result, and resolves relative paths against the file that wrote them.
 */
export function loadRigConfig(path: string): RigConfig {
  const raw = readWithExtends(resolve(path), []);
  return validateRigConfig(raw, path);
}

/** Validates an already-parsed document; `source` names it in errors. */
export function validateRigConfig(document: unknown, source = 'config'): RigConfig {
  const result = validate(rigConfigSchema, document);
  if (!result.ok) {
    const lines = result.issues.map((i) => `${i.path}: ${i.message}`);
    throw new OptoloopError('E_CONFIG_INVALID', `${source}: ${result.issues.length} problem(s):\n  ${lines.join('\n  ')}`, {
      stage: 'config',
      details: { file: source, issues: result.issues },
    });
  }
  return result.value;
}

/** Keys whose string values are file paths, resolved against the config file that set them. */
const PATH_KEYS = new Set(['path', 'file', 'templates', 'model', 'library', 'directory', 'decoder', 'out']);

function readWithExtends(path: string, chain: string[]): Record<string, unknown> {
  if (chain.includes(path)) {
    throw new OptoloopError('E_CONFIG_READ', `${path}: extends itself through ${chain.join(' → ')}`, { stage: 'config' });
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new OptoloopError('E_CONFIG_READ', `${path}: cannot read config (${(cause as Error).message})`, {
      stage: 'config',
      details: { file: path },
      cause,
    });
  }
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length) {
    const first = document.errors[0];
    const where = first.linePos?.[0] ? ` line ${first.linePos[0].line}, column ${first.linePos[0].col}` : '';
    throw new OptoloopError('E_CONFIG_READ', `${path}:${where}: not valid YAML/JSON: ${first.message.split('\n')[0]}`, {
      stage: 'config',
      details: { file: path },
    });
  }
  const value = document.toJS() as unknown;
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new OptoloopError('E_CONFIG_INVALID', `${path}: (root): expected an object of sections, got ${Array.isArray(value) ? 'an array' : typeof value}`, {
      stage: 'config',
    });
  }
  const here = resolvePaths(value as Record<string, unknown>, dirname(path));
  const base = here.extends;
  delete here.extends;
  if (base === undefined) return here;
  if (typeof base !== 'string') {
    throw new OptoloopError('E_CONFIG_INVALID', `${path}: extends: expected a file path, got ${typeof base}`, { stage: 'config' });
  }
  return deepMerge(readWithExtends(base, [...chain, path]), here);
}

/**
 * `model: cortex` names a shipped model, not a folder beside the config: a bare name that is not a
 * folder there is left for the model loader to look up among the shipped models.
 */
function isBareName(value: string): boolean {
  return /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(value);
}

function resolvePaths(value: Record<string, unknown>, directory: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if ((PATH_KEYS.has(key) || key === 'extends') && typeof v === 'string' && v !== '' && !isAbsolute(v)) {
      out[key] = key === 'model' && isBareName(v) && !existsSync(resolve(directory, v)) ? v : resolve(directory, v);
    } else if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      out[key] = resolvePaths(v as Record<string, unknown>, directory);
    } else {
      out[key] = v;
    }
  }
  return out;
}

export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, v] of Object.entries(over)) {
    const b = out[key];
    if (isPlainObject(b) && isPlainObject(v)) out[key] = deepMerge(b, v);
    else out[key] = v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
