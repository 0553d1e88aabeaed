/**
 * Typed errors with stable string codes. Every code is listed, with its meaning, in
 * `docs/errors.md`; a test keeps the two in step. Codes never change meaning once released:
 * programs on the bus match on them.
 */

export const ERROR_CODES = [
  // Configuration and options
  'E_CONFIG_INVALID',
  'E_CONFIG_READ',
  'E_OPTIONS_INVALID',
  // Files
  'E_FILE_NOT_FOUND',
  'E_FILE_TRUNCATED',
  'E_FILE_MALFORMED',
  'E_FILE_UNSUPPORTED',
  'E_FILE_WRITE',
  // Probe geometry
  'E_PROBE_INVALID',
  // Sources and streaming
  'E_SOURCE_STATE',
  'E_SOURCE_OVERFLOW',
  'E_BLOCK_MISMATCH',
  // Devices and transports
  'E_DEVICE_NOT_FOUND',
  'E_DEVICE_DISCONNECTED',
  'E_DEVICE_TIMEOUT',
  'E_DEVICE_PROTOCOL',
  'E_DEVICE_REFUSED',
  'E_DEVICE_FAULT',
  'E_READ_CANCELLED',
  // Stimulation
  'E_STIM_LIMIT',
  'E_STIM_ESTOP',
  'E_SINK_STATE',
  // Classification
  'E_MODEL_INVALID',
  'E_BACKEND_UNAVAILABLE',
  // Bus
  'E_BUS_AUTH',
  'E_BUS_PERMISSION',
  'E_BUS_MALFORMED',
  'E_BUS_TOO_LARGE',
  'E_BUS_RATE',
  // CLI
  'E_CLI_USAGE',
  // Internal invariants
  'E_INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface OptoloopErrorOptions {
  /** The stage, device or file that raised it, e.g. `pipeline.bandpass` or `drivers/pulsepal`. */
  readonly stage?: string;
  /** Machine-readable facts: the file, byte offset, field, expected and actual values. */
  readonly details?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

export class OptoloopError extends Error {
  readonly code: ErrorCode;
  readonly stage: string | undefined;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: OptoloopErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OptoloopError';
    this.code = code;
    this.stage = options.stage;
    this.details = printableDetails(options.details ?? {});
  }

  /** A one-line form for logs and the bus: `E_CODE [stage] message`. */
  override toString(): string {
    return `${this.code}${this.stage ? ` [${this.stage}]` : ''} ${this.message}`;
  }
}

/**
 * The details object, with a non-enumerable `split` so that test reporters which print
 * `error.details` as a diff string (uvu does `details.split('\n')`) show it as JSON instead of
 * crashing their own report and hiding the failure.
 */
function printableDetails(details: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  const copy = { ...details };
  Object.defineProperty(copy, 'split', {
    enumerable: false,
    value: (separator: string) => {
      let text: string;
      try {
        text = JSON.stringify(details, null, 2);
      } catch {
        text = String(Object.keys(details));
      }
      return `details: ${text}`.split(separator);
    },
  });
  return copy;
}

export function isOptoloopError(error: unknown, code?: ErrorCode): error is OptoloopError {
  return error instanceof OptoloopError && (code === undefined || error.code === code);
}

/** Describes a value for an error message: `50`, `"abc"`, `an array`, `null`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}
