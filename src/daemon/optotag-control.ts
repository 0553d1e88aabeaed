/**
 * Starts and stops live optotagging sessions for the daemon (the `OptotagControl` the closed-loop
 * commands call): one session at a time, on the sink and output the `optotag` config names, ending
 * with the tagged units appended to the configured library.
 */
import type { CommandResult } from '../core/commands.js';
import type { OptotagConfig } from '../closedloop/optotag-config.js';
import type { OptotagControl } from '../closedloop/closed-loop-commands.js';
import { appendTaggedUnits } from '../closedloop/optotag-library.js';
import { OptotagSession, type OptotagResult } from '../closedloop/optotag-session.js';
import type { SafetyGovernor } from '../closedloop/safety-governor.js';
import type { ChannelLayout } from '../probe/channel-layout.js';
import type { StreamClock } from './stream-clock.js';

export interface OptotagControlDeps {
  readonly config: OptotagConfig;
  readonly governors: ReadonlyMap<string, SafetyGovernor>;
  readonly streamId: string;
  readonly sampleRateHz: number;
  readonly streamClock: StreamClock;
  readonly layout: ChannelLayout;
  readonly rig: string;
  readonly log: (level: 'info' | 'warn', line: string) => void;
  readonly onEnd?: (result: OptotagResult) => void;
}

export class DaemonOptotagControl implements OptotagControl {
  session: OptotagSession | null = null;
  /** The last finished session's result (kept for the unit table after it ends). */
  lastResult: OptotagResult | null = null;

  constructor(private readonly deps: OptotagControlDeps) {}

  activeOutput(): string | null {
    const s = this.session;
    return s && s.state === 'running' ? `${s.config.protocol.sink}:${s.config.protocol.output}` : null;
  }

  start(origin: string): CommandResult {
    const { config, governors } = this.deps;
    const governor = governors.get(config.protocol.sink);
    if (!governor) {
      return { ok: false, code: 'E_SINK_STATE', message: `optotag.protocol.sink: no sink named "${config.protocol.sink}" (configured: ${[...governors.keys()].join(', ') || 'none'})` };
    }
    if (!this.deps.streamClock.ready) return { ok: false, code: 'E_SOURCE_STATE', message: 'optotagging needs a running stream' };
    const session = new OptotagSession({
      config,
      governor,
      streamId: this.deps.streamId,
      sampleRateHz: this.deps.sampleRateHz,
      log: (line) => this.deps.log('info', line),
      onEnd: (result) => this.finished(session, result),
    });
    this.session = session;
    session.start(this.deps.streamClock.currentSample).catch((error: Error) => this.deps.log('warn', `optotag: ${error.message}`));
    this.deps.log('info', `optotag: session started by ${origin} on ${config.protocol.sink}:${config.protocol.output}`);
    return { ok: true, code: null, message: `optotagging started on ${config.protocol.sink}:${config.protocol.output}` };
  }

  stop(origin: string): CommandResult {
    this.session?.stop(`stopped by ${origin}`);
    return { ok: true, code: null, message: 'optotagging stopping: undecided units get the criteria verdict' };
  }

  abort(reason: string): void {
    this.session?.abort(reason);
  }

  private finished(session: OptotagSession, result: OptotagResult): void {
    this.lastResult = result;
    const { layout, rig } = this.deps;
    try {
      const written = appendTaggedUnits(session, {
        idPrefix: `${rig}/${new Date().toISOString().slice(0, 19)}/`,
        channelPositionUm: (c) => (c >= 0 && c < layout.channelCount ? [layout.xUm[c], layout.yUm[c]] : null),
      });
      if (session.config.library) this.deps.log('info', `optotag: ${written.written} tagged unit(s) appended to ${session.config.library}`);
    } catch (error) {
      this.deps.log('warn', `optotag: cannot append to the unit library: ${(error as Error).message}`);
    }
    this.deps.onEnd?.(result);
  }
}
