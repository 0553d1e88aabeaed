import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OptoloopError } from '../../core/errors.js';
import { MANIFEST_FILE, type ModelManifest } from './manifest.js';

/** Pretty JSON with number arrays kept on one line, so a manifest with 1010-value statistics stays readable. */
export function manifestJson(manifest: ModelManifest): string {
  return `${JSON.stringify(manifest, null, 2).replace(/\[\s*(-?[\d.eE+-]+(?:,\s*-?[\d.eE+-]+)*)\s*\]/g, (_, body: string) => `[${body.replace(/\s+/g, '')}]`)}\n`;
}

export function writeManifest(dir: string, manifest: ModelManifest): void {
  const path = join(dir, MANIFEST_FILE);
  try {
    writeFileSync(path, manifestJson(manifest));
  } catch (cause) {
    throw new OptoloopError('E_FILE_WRITE', `${path}: cannot write the manifest (${(cause as Error).message})`, { stage: 'classify.model', cause, details: { file: path } });
  }
}
