import { readFileSync } from 'node:fs';
import { OptoloopError, describeValue } from '../core/errors.js';

/** One recording site of a probe, in µm in the probe's plane. */
export interface ProbeContact {
  readonly id: string;
  readonly xUm: number;
  readonly yUm: number;
  readonly shankId: string;
}

/** A probe as described by a probeinterface JSON file. */
export interface Probe {
  readonly modelName: string;
  readonly manufacturer: string;
  readonly contacts: readonly ProbeContact[];
  /**
   * Recording channel wired to each contact (same order as `contacts`), −1 for unconnected
   * contacts; null when the file gives none (the probe library's files never do).
   */
  readonly deviceChannelIndices: Int32Array | null;
}

const STAGE = 'probe';

function fail(source: string, path: string, expected: string, got: unknown): never {
  throw new OptoloopError('E_PROBE_INVALID', `${source}: ${path}: expected ${expected}, got ${describeValue(got)}`, {
    stage: STAGE,
    details: { file: source, path, expected },
  });
}

/** Parses a probeinterface document (format_spec 0.2 / 0.3): every probe it holds. */
export function parseProbeInterface(document: unknown, source = 'probe'): Probe[] {
  if (typeof document !== 'object' || document === null) fail(source, '(root)', 'a probeinterface object', document);
  const root = document as Record<string, unknown>;
  if (root.specification !== 'probeinterface') fail(source, 'specification', '"probeinterface"', root.specification);
  if (!Array.isArray(root.probes) || root.probes.length === 0) fail(source, 'probes', 'a non-empty array', root.probes);
  return root.probes.map((raw, index) => parseProbe(raw, `probes[${index}]`, source));
}

function parseProbe(raw: unknown, path: string, source: string): Probe {
  if (typeof raw !== 'object' || raw === null) fail(source, path, 'an object', raw);
  const probe = raw as Record<string, unknown>;
  const units = probe.si_units ?? 'um';
  if (units !== 'um' && units !== 'mm') fail(source, `${path}.si_units`, '"um" or "mm"', units);
  const scale = units === 'mm' ? 1000 : 1;
  const ndim = probe.ndim ?? 2;
  if (ndim !== 2 && ndim !== 3) fail(source, `${path}.ndim`, '2 or 3', ndim);

  const positions = probe.contact_positions;
  if (!Array.isArray(positions) || positions.length === 0) fail(source, `${path}.contact_positions`, 'a non-empty array', positions);
  const n = positions.length;

  const ids = optionalArray(probe.contact_ids, n, `${path}.contact_ids`, source);
  const shanks = optionalArray(probe.shank_ids, n, `${path}.shank_ids`, source);
  const channels = optionalArray(probe.device_channel_indices, n, `${path}.device_channel_indices`, source);

  const contacts: ProbeContact[] = positions.map((p, i) => {
    if (!Array.isArray(p) || p.length < 2 || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) {
      fail(source, `${path}.contact_positions[${i}]`, 'an [x, y] pair of numbers', p);
    }
    const id = ids && ids[i] !== '' ? String(ids[i]) : String(i);
    const shankId = shanks ? String(shanks[i] ?? '') : '';
    return { id, xUm: Number(p[0]) * scale, yUm: Number(p[1]) * scale, shankId };
  });

  let deviceChannelIndices: Int32Array | null = null;
  if (channels) {
    deviceChannelIndices = new Int32Array(n);
    channels.forEach((c, i) => {
      if (!Number.isInteger(c) || (c as number) < -1) fail(source, `${path}.device_channel_indices[${i}]`, 'an integer ≥ −1', c);
      deviceChannelIndices![i] = c as number;
    });
  }

  const annotations = (typeof probe.annotations === 'object' && probe.annotations !== null ? probe.annotations : {}) as Record<
    string,
    unknown
  >;
  return {
    modelName: String(annotations.model_name ?? annotations.name ?? 'unknown'),
    manufacturer: String(annotations.manufacturer ?? 'unknown'),
    contacts,
    deviceChannelIndices,
  };
}

function optionalArray(value: unknown, n: number, path: string, source: string): unknown[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.length !== n) fail(source, path, `an array of ${n} (one per contact)`, value);
  return value;
}

/** Reads a probeinterface JSON file and returns one of its probes (the first by default). */
export function readProbeFile(path: string, probeIndex = 0): Probe {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new OptoloopError('E_FILE_NOT_FOUND', `${path}: cannot read probe file (${(cause as Error).message})`, {
      stage: STAGE,
      details: { file: path },
      cause,
    });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (cause) {
    throw new OptoloopError('E_PROBE_INVALID', `${path}: not valid JSON (${(cause as Error).message})`, {
      stage: STAGE,
      details: { file: path },
      cause,
    });
  }
  const probes = parseProbeInterface(document, path);
  if (probeIndex < 0 || probeIndex >= probes.length) {
    fail(path, 'probes', `at least ${probeIndex + 1} probes`, probes);
  }
  return probes[probeIndex];
}
