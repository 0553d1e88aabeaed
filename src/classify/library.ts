/**
 * The labelled unit library: ground-truth units (from optotagging, or imported) that
 * `optoloop train` learns cell types from. One JSON file:
 *
 *   { "units": [ { "id": "rig1/2025-03-02/u17", "label": "PV",
 *                  "waveformUv": [...], "waveformSampleRateHz": 30000, "waveformPeakIndex": 30,
 *                  "spikeTimesS": [...],
 *                  "waveformsUv": [[...], ...], "channelPositionsUm": [[x, y], ...],
 *                  "layer": "molecular", "source": "optotag", "tag": { ... } } ] }
 *
 * Required: id (unique), label, waveformUv (mean peak-channel waveform, µV), waveformSampleRateHz,
 * spikeTimesS (ascending, s). Optional: waveformPeakIndex (index of the spike peak in waveformUv),
 * waveformsUv (mean waveform on several channels, channel-major, each as long as waveformUv) with
 * channelPositionsUm (one [x, y] per row), layer (free text, e.g. C4's granular / Purkinje /
 * molecular), source (how the label was obtained), tag (the optotagging statistics behind it).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as s from '../config/schema.js';
import { OptoloopError } from '../core/errors.js';

export const libraryTagSchema = s.object(
  {
    pulses: s.number({ integer: true, min: 0 }),
    saltP: s.nullable(s.number({ min: 0, max: 1 })),
    saltI: s.nullable(s.number()),
    latencyMs: s.nullable(s.number()),
    jitterMs: s.nullable(s.number({ min: 0 })),
    reliability: s.nullable(s.number({ min: 0, max: 1 })),
    allenRatio: s.nullable(s.number({ min: 0 })),
    waveformCorrelation: s.nullable(s.number({ min: -1, max: 1 })),
  },
  { description: 'Optotagging statistics of the unit when it was labelled.' },
);

export const libraryUnitSchema = s.object(
  {
    id: s.string({ minLength: 1, description: 'Unique within the library.' }),
    label: s.string({ minLength: 1, description: 'Cell type.' }),
    waveformUv: s.array(s.number(), { minItems: 2, description: 'Mean peak-channel waveform, µV.' }),
    waveformSampleRateHz: s.number({ above: 0 }),
    waveformPeakIndex: s.nullable(s.number({ integer: true, min: 0 })),
    spikeTimesS: s.array(s.number(), { description: 'Spike times, s, ascending.' }),
    waveformsUv: s.nullable(s.array(s.array(s.number()), { minItems: 1 }), { description: 'Mean waveform per channel, channel-major.' }),
    channelPositionsUm: s.nullable(s.array(s.array(s.number(), { minItems: 2, maxItems: 2 })), { description: 'Contact [x, y] of each waveformsUv row, µm.' }),
    layer: s.nullable(s.string({ minLength: 1 })),
    source: s.nullable(s.string({ minLength: 1 }), { description: 'How the label was obtained: optotag, juxtacellular, import, …' }),
    tag: s.nullable(libraryTagSchema),
  },
  {
    refine: (u, path, issues) => {
      const at = (k: string) => `${path}.${k}`;
      for (let i = 1; i < u.spikeTimesS.length; i++) {
        if (u.spikeTimesS[i] < u.spikeTimesS[i - 1]) {
          issues.push({ path: at(`spikeTimesS[${i}]`), message: `expected times in ascending order (≥ ${u.spikeTimesS[i - 1]}), got ${u.spikeTimesS[i]}` });
          break;
        }
      }
      if (u.waveformPeakIndex !== null && u.waveformPeakIndex >= u.waveformUv.length) {
        issues.push({ path: at('waveformPeakIndex'), message: `expected an index below the waveform length (${u.waveformUv.length}), got ${u.waveformPeakIndex}` });
      }
      if (u.waveformsUv) {
        u.waveformsUv.forEach((row, r) => {
          if (row.length !== u.waveformUv.length) {
            issues.push({ path: at(`waveformsUv[${r}]`), message: `expected ${u.waveformUv.length} samples like waveformUv, got ${row.length}` });
          }
        });
        if (u.channelPositionsUm && u.channelPositionsUm.length !== u.waveformsUv.length) {
          issues.push({ path: at('channelPositionsUm'), message: `expected one position per waveformsUv row (${u.waveformsUv.length}), got ${u.channelPositionsUm.length}` });
        }
      } else if (u.channelPositionsUm) {
        issues.push({ path: at('channelPositionsUm'), message: 'expected waveformsUv alongside channel positions' });
      }
    },
  },
);

export const unitLibrarySchema = s.object(
  { units: s.array(libraryUnitSchema) },
  {
    refine: (lib, path, issues) => {
      const seen = new Map<string, number>();
      lib.units.forEach((u, i) => {
        const first = seen.get(u.id);
        if (first !== undefined) issues.push({ path: `${path ? `${path}.` : ''}units[${i}].id`, message: `expected a unique id, got "${u.id}" (also units[${first}])` });
        else seen.set(u.id, i);
      });
    },
  },
);

export type LibraryUnit = s.Infer<typeof libraryUnitSchema>;
export type UnitLibrary = s.Infer<typeof unitLibrarySchema>;
/** A unit as callers write it: the optional fields may be left out. */
export type LibraryUnitInput = Pick<LibraryUnit, 'id' | 'label' | 'waveformUv' | 'waveformSampleRateHz' | 'spikeTimesS'> & Partial<LibraryUnit>;

/** Validates a parsed library document; `source` names it in errors (E_FILE_MALFORMED, with every problem's path). */
export function validateLibrary(document: unknown, source: string): UnitLibrary {
  const r = s.validate(unitLibrarySchema, document);
  if (!r.ok) {
    const shown = r.issues.slice(0, 20).map((i) => `${i.path}: ${i.message}`);
    const more = r.issues.length > 20 ? `\n  … and ${r.issues.length - 20} more` : '';
    throw new OptoloopError('E_FILE_MALFORMED', `${source}: not a valid unit library, ${r.issues.length} problem(s):\n  ${shown.join('\n  ')}${more}`, {
      stage: 'classify.library',
      details: { file: source, issues: r.issues.slice(0, 100) },
    });
  }
  return r.value;
}

export function readLibrary(path: string): UnitLibrary {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new OptoloopError('E_FILE_NOT_FOUND', `${path}: cannot read the unit library (${(cause as Error).message})`, { stage: 'classify.library', details: { file: path }, cause });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (cause) {
    throw new OptoloopError('E_FILE_MALFORMED', `${path}: not JSON (${(cause as Error).message}); expected { "units": [ … ] }`, {
      stage: 'classify.library',
      details: { file: path },
      cause,
    });
  }
  return validateLibrary(document, path);
}

/**
 * Appends units to a library file, creating it if absent. Units are validated first; an id already
 * in the library is refused unless `replace` is set (then the old entry is replaced in place). The
 * file is written to a temporary name and renamed, so a crash never leaves half a library.
 * Returns the library as written.
 */
export function appendToLibrary(path: string, units: readonly LibraryUnitInput[], options: { replace?: boolean } = {}): UnitLibrary {
  const existing: UnitLibrary = existsSync(path) ? readLibrary(path) : { units: [] };
  const incoming = validateLibrary({ units }, `units for ${path}`).units;
  const merged = [...existing.units];
  for (const u of incoming) {
    const at = merged.findIndex((m) => m.id === u.id);
    if (at >= 0 && !options.replace) {
      throw new OptoloopError('E_FILE_WRITE', `${path}: a unit with id "${u.id}" is already in the library; expected a new id (or replace)`, {
        stage: 'classify.library',
        details: { file: path, id: u.id },
      });
    }
    if (at >= 0) merged[at] = u;
    else merged.push(u);
  }
  const library: UnitLibrary = { units: merged };
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, `${JSON.stringify(library)}\n`);
    renameSync(temporary, path);
  } catch (cause) {
    throw new OptoloopError('E_FILE_WRITE', `${path}: cannot write the unit library (${(cause as Error).message})`, { stage: 'classify.library', details: { file: path }, cause });
  }
  return library;
}
