/**
 * Where a model named in a config or on the command line lives: a folder path (with a
 * manifest.json), or the name of a model shipped with optoloop under `models/<name>/`.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { OptoloopError } from '../../core/errors.js';
import { packageRoot } from '../../core/package-root.js';
import { MANIFEST_FILE } from './manifest.js';

export function shippedModelsDirectory(): string {
  return join(packageRoot(), 'models');
}

export function shippedModelNames(): string[] {
  const dir = shippedModelsDirectory();
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, MANIFEST_FILE)))
    .map((d) => d.name)
    .sort();
}

export function resolveModelDirectory(nameOrPath: string): string {
  const asPath = resolve(nameOrPath);
  if (existsSync(join(asPath, MANIFEST_FILE))) return asPath;
  if (/^[A-Za-z0-9_.-]+$/.test(nameOrPath)) {
    const shipped = join(shippedModelsDirectory(), nameOrPath);
    if (existsSync(join(shipped, MANIFEST_FILE))) return shipped;
  }
  const names = shippedModelNames();
  throw new OptoloopError('E_MODEL_INVALID', `model "${nameOrPath}": no ${MANIFEST_FILE} at ${asPath}, and no shipped model of that name; expected a model folder or one of ${names.join(', ') || '(none shipped)'}`, {
    stage: 'classify.model',
    details: { model: nameOrPath },
  });
}
