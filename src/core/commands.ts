import type { PulseTrainSpec } from './stimulus-sink.js';

/**
 * Commands that steer a running daemon, from the bus, the dashboard or the CLI. Each is checked by
 * the daemon: stimulating commands need the stimulate permission and always pass the safety
 * governor, which alone decides whether light is emitted.
 */
export type DaemonCommand =
  | { readonly kind: 'stimulate'; readonly sink: string; readonly output: number; readonly train: PulseTrainSpec }
  | { readonly kind: 'estop' }
  | { readonly kind: 'release-estop' }
  | { readonly kind: 'start-optotag' }
  | { readonly kind: 'stop-optotag' }
  | { readonly kind: 'set-rule-enabled'; readonly rule: string; readonly enabled: boolean };

/** Whether a command can cause light: such commands need the stimulate permission. */
export function isStimulating(command: DaemonCommand): boolean {
  return command.kind === 'stimulate' || command.kind === 'start-optotag' || (command.kind === 'set-rule-enabled' && command.enabled);
}

export interface CommandResult {
  readonly ok: boolean;
  /** Error code (docs/errors.md) and message when refused. */
  readonly code: string | null;
  readonly message: string;
}

/** Implemented by the daemon; the bus and the CLI call it. */
export interface CommandHandler {
  handle(command: DaemonCommand, origin: string): CommandResult;
}
