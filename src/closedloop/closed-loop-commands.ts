/**
 * The daemon's commands that concern light — stimulate, emergency stop and release, rules on and
 * off, optotagging start and stop — applied to the governors, the rule engine and the optotag
 * control. Synchronous, as the bus calls it: a manual train is checked against the limits at once
 * (a refusal is the reply), then programmed and triggered in the background, its outcome logged by
 * the governor. The bus has already checked the stimulate permission.
 *
 * An output that an enabled rule or a running optotag session drives is not available to manual
 * stimulation (a device output holds one programmed train: a manual train would silently change
 * what the rule fires), nor can a rule be enabled on the output of a running session.
 */
import type { CommandHandler, CommandResult, DaemonCommand } from '../core/commands.js';
import type { StimulusCause } from '../core/stimulus-sink.js';
import type { RuleEngine } from './rules/rule-engine.js';
import type { SafetyGovernor } from './safety-governor.js';

/** What the daemon provides to start and stop optotagging (it owns the session and the stream). */
export interface OptotagControl {
  /** `sink:output` while a session runs, else null. */
  activeOutput(): string | null;
  start(origin: string): CommandResult;
  stop(origin: string): CommandResult;
  /** Ends a running session at once (emergency stop). */
  abort(reason: string): void;
}

export interface ClosedLoopCommandTargets {
  readonly governors: ReadonlyMap<string, SafetyGovernor>;
  readonly rules: RuleEngine | null;
  readonly optotag: OptotagControl | null;
  readonly log?: (line: string) => void;
}

const ok = (message: string): CommandResult => ({ ok: true, code: null, message });
const refused = (code: string, message: string): CommandResult => ({ ok: false, code, message });

export class ClosedLoopCommands implements CommandHandler {
  constructor(private readonly targets: ClosedLoopCommandTargets) {}

  private log(line: string): void {
    this.targets.log?.(`closedloop: ${line}`);
  }

  handle(command: DaemonCommand, origin: string): CommandResult {
    switch (command.kind) {
      case 'stimulate':
        return this.stimulate(command.sink, command.output, command.train, origin);
      case 'estop': {
        for (const g of this.targets.governors.values()) g.engageEstop(origin);
        this.targets.optotag?.abort(`emergency stop by ${origin}`);
        return ok(`emergency stop engaged on ${this.targets.governors.size} sink(s)`);
      }
      case 'release-estop': {
        for (const g of this.targets.governors.values()) g.releaseEstop(origin);
        this.reprogramRules('after the emergency stop');
        return ok('emergency stop released; rule outputs are being programmed again');
      }
      case 'set-rule-enabled':
        return this.setRuleEnabled(command.rule, command.enabled);
      case 'start-optotag': {
        const control = this.targets.optotag;
        if (!control) return refused('E_SINK_STATE', 'optotagging is not configured on this rig');
        if (control.activeOutput()) return refused('E_SINK_STATE', `an optotagging session is already running on ${control.activeOutput()}`);
        return control.start(origin);
      }
      case 'stop-optotag': {
        const control = this.targets.optotag;
        if (!control || !control.activeOutput()) return refused('E_SINK_STATE', 'no optotagging session is running');
        return control.stop(origin);
      }
    }
  }

  private outputOwner(key: string): string | null {
    const byRule = this.targets.rules?.outputsInUse().get(key);
    if (byRule) return `rule "${byRule}"`;
    if (this.targets.optotag?.activeOutput() === key) return 'the optotagging session';
    return null;
  }

  private stimulate(sink: string, output: number, train: Parameters<SafetyGovernor['program']>[1], origin: string): CommandResult {
    const governor = this.targets.governors.get(sink);
    if (!governor) return refused('E_SINK_STATE', `no sink named "${sink}" (sinks: ${[...this.targets.governors.keys()].join(', ') || 'none'})`);
    const owner = this.outputOwner(`${sink}:${output}`);
    if (owner) return refused('E_SINK_STATE', `${sink} output ${output} is driven by ${owner}; disable it first`);
    if (!governor.checkTrain(output, train, origin)) return refused(governor.lastRefusal.code, governor.describeLastRefusal());
    const cause: StimulusCause = { reason: origin, streamId: null, sampleIndex: null, sourceReceiveTimeNs: null };
    governor.program(output, train, origin).then(
      () => {
        if (governor.trigger(1 << output, cause) < 0) this.log(`manual train on ${sink}:${output} refused at trigger: ${governor.describeLastRefusal()}`);
      },
      (error: unknown) => this.log(`manual train on ${sink}:${output} not programmed: ${(error as Error).message}`),
    );
    return ok(`${sink} output ${output}: train accepted; programming and triggering`);
  }

  private setRuleEnabled(rule: string, enabled: boolean): CommandResult {
    const engine = this.targets.rules;
    const key = engine?.outputOf(rule) ?? null;
    if (!engine || key === null) return refused('E_OPTIONS_INVALID', `no rule named "${rule}"`);
    if (enabled && this.targets.optotag?.activeOutput() === key) return refused('E_SINK_STATE', `${key} is driven by the optotagging session; enable the rule after it`);
    engine.setEnabled(rule, enabled);
    if (enabled) this.reprogramRules(`for rule ${rule}`);
    return ok(`rule ${rule} ${enabled ? 'enabled' : 'disabled'}`);
  }

  private reprogramRules(why: string): void {
    this.targets.rules?.programSinks().catch((error: unknown) => this.log(`programming rule outputs ${why} failed: ${(error as Error).message}`));
  }
}
