/**
 * The daemon: one rig config brought to life. Where each block goes, in order, synchronously
 * within the source's `next()` (nothing on this path awaits):
 *
 *   source → ingress monitor → recorder (copies) → pipeline (reference → band-pass → noise →
 *   detect → snippets) → units (assignment, features; classification in a worker) → closed loop
 *   (rules → governors → sinks; optotagging; BCI) → bus (copies, flushed on a timer) → unit
 *   maintenance (merges, splits, classification scheduling: milliseconds, so after the triggers)
 *
 * Everything slower than a block — inference, disk, the network — is handed off: the classifier
 * runs in a worker thread, the recorder writes from a worker, the bus batches spikes and sends on
 * its own timer. The stimulation path (rules → governor → sink write) runs before any of them.
 */
import { Subject, tap, type SchedulerLike, type Subscription } from 'rxjs';
import { systemClock, type MonotonicClock } from '../core/clock.js';
import type { CommandHandler, CommandResult, DaemonCommand } from '../core/commands.js';
import { isOptoloopError } from '../core/errors.js';
import type { SampleBlock } from '../core/sample-block.js';
import type { SampleSource, StreamInfo } from '../core/sample-source.js';
import type { DetectionResult, SnippetResult, SpikeBatch } from '../core/spikes.js';
import type { DaemonStatus, DeviceStatus } from '../core/status.js';
import type { StimulusAck } from '../core/stimulus-sink.js';
import type { UnitSummary } from '../core/units.js';
import type { RigConfig } from '../config/rig-config.js';
import { buildPipeline } from '../pipeline/build-pipeline.js';
import type { ChannelLayout } from '../probe/channel-layout.js';
import { neighbourhoodsByRadius } from '../probe/neighbourhoods.js';
import { ClosedLoopCommands } from '../closedloop/closed-loop-commands.js';
import { LatencyHistogram } from '../closedloop/latency-histogram.js';
import { requestRealtimePriority } from './realtime-priority.js';
import { RuleEngine } from '../closedloop/rules/rule-engine.js';
import { CellTypeTable } from '../closedloop/rules/cell-type-table.js';
import type { SafetyGovernor } from '../closedloop/safety-governor.js';
import type { OptotagResult } from '../closedloop/optotag-session.js';
import { BciOutput } from '../closedloop/bci/bci-output.js';
import { readDecoder } from '../closedloop/bci/decoder-format.js';
import type { BusServer } from '../bus/server.js';
import { startBusAndDashboard } from '../dashboard/start.js';
import { Recorder } from '../recorder/recorder.js';
import { createSource, type CreatedSource } from './source-factory.js';
import { createSinks, type CreatedSinks } from './sink-factory.js';
import { resolveLayout } from './layout.js';
import { IngressMonitor } from './ingress-monitor.js';
import { StreamClock } from './stream-clock.js';
import { DaemonOptotagControl } from './optotag-control.js';
import { deviceStatusOf } from './device-status.js';
import { consoleLog, type DaemonLog } from './log.js';
import { createUnitStage, type UnitStage } from './unit-stage.js';
import { UnitTablePublisher } from './unit-table-publisher.js';
import { describeEarlyIds } from '../classify/units/early-id-tally.js';
import { sleepMicroseconds } from './cpu-yield.js';
import { CpuKick } from './cpu-kick.js';

export interface DaemonDeps {
  readonly clock?: MonotonicClock;
  readonly scheduler?: SchedulerLike;
  readonly log?: DaemonLog;
  /**
   * Sees every spike batch after unit assignment, synchronously, before the closed loop does
   * (borrowed: copy what you keep). For evaluations against a simulator's ground truth; nothing
   * in a live rig sets it.
   */
  readonly onSpikes?: (batch: SpikeBatch) => void;
  /** Called when an optotagging session ends (after its tagged units went to the library). */
  readonly onOptotagEnd?: (result: OptotagResult) => void;
  /** The pause after a block's triggers (default: a synchronous sleep, cpu-yield.ts); tests count the calls. */
  readonly sleepUs?: (us: number) => void;
  /** The kick of another CPU after that pause (default: a CpuKick helper thread when daemon.triggerKick); tests count the calls. */
  readonly kickCpu?: () => void;
}

/** Counters of what went through the daemon; they only grow. */
export interface DaemonCounters {
  blocks: number;
  frames: number;
  spikes: number;
  triggers: number;
  /** Blocks whose processing threw: logged, skipped, the stream goes on. */
  failedBlocks: number;
}

/** Period of one unit-table slice on the bus: with ~300 units a slice is ~12 units, ~0.1 ms to build and encode. */
const UNIT_SLICE_MS = 20;
const isSnippetResult = (r: DetectionResult | SnippetResult): r is SnippetResult => 'snippetLength' in r.spikes;

export class Daemon implements CommandHandler {
  readonly counters: DaemonCounters = { blocks: 0, frames: 0, spikes: 0, triggers: 0, failedBlocks: 0 };
  /** Block arrival at the source → the sink's write returned, per trigger. */
  readonly softwareLatency = new LatencyHistogram('software');
  /** Block arrival → the rule engine issued the trigger. */
  readonly ruleLatency = new LatencyHistogram('rule-decision');
  /**
   * Per block, where the stimulation path's time goes before the rules: arrival → spikes detected
   * and cut (the pipeline), and arrival → their unit ids (the fast assignment pass).
   */
  readonly pipelineLatency = new LatencyHistogram('pipeline');
  readonly assignLatency = new LatencyHistogram('unit-assignment');
  /**
   * Per block, arrival → all of its work done (the rest of the assignment, publishing, unit
   * maintenance): how long the acquisition thread is taken by one block. When it nears the
   * block's duration the next block waits, and every latency measured from the sample grows.
   */
  readonly blockLatency = new LatencyHistogram('block');
  /** Every acknowledgement from every governed sink, with the sink's config name (owned objects). */
  readonly acks$ = new Subject<{ readonly sink: string; readonly ack: StimulusAck }>();
  /** Resolves when the stream ends (a file or a timed simulation finished) or stop() completes. */
  readonly done: Promise<void>;

  bus: BusServer | null = null;
  dashboardUrl: string | null = null;
  stream: StreamInfo | null = null;
  layout: ChannelLayout | null = null;
  units: UnitStage | null = null;
  recorder: Recorder | null = null;
  readonly cellTypes = new CellTypeTable();

  private readonly clock: MonotonicClock;
  private readonly log: DaemonLog;
  private readonly sleepUs: (us: number) => void;
  private readonly kickCpu: () => void;
  /** The helper the default kick wakes (made at start when daemon.triggerKick and no kick was injected). */
  private cpuKick: CpuKick | null = null;
  private readonly startedNs: number;
  private created: CreatedSource | null = null;
  private sinks: CreatedSinks | null = null;
  private rules: RuleEngine | null = null;
  private optotag: DaemonOptotagControl | null = null;
  private commands: ClosedLoopCommands | null = null;
  private bci: BciOutput | null = null;
  private ingress: IngressMonitor;
  private readonly streamClock = new StreamClock();
  private readonly subscriptions: Subscription[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private resolveDone: () => void = () => {};
  private stopping = false;
  private lastError: string | null = null;
  private optotagPendingStart = false;

  private constructor(
    readonly config: RigConfig,
    private readonly deps: DaemonDeps,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log ?? consoleLog();
    this.sleepUs = deps.sleepUs ?? sleepMicroseconds;
    this.kickCpu = deps.kickCpu ?? (() => this.cpuKick?.kick());
    this.startedNs = this.clock.nowNs();
    this.ingress = new IngressMonitor(config.daemon.sourceBufferMs, this.clock);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Builds, opens and starts everything the config names; rejects (after closing what opened) if the source cannot start. */
  static async start(config: RigConfig, deps: DaemonDeps = {}): Promise<Daemon> {
    const daemon = new Daemon(config, deps);
    try {
      await daemon.startAll();
    } catch (error) {
      await daemon.stop().catch(() => {});
      throw error;
    }
    return daemon;
  }

  private info(stage: string, message: string): void {
    this.log.line('info', stage, message);
  }
  private warn(stage: string, message: string): void {
    this.log.line('warn', stage, message);
  }

  private async startAll(): Promise<void> {
    const { config } = this;
    const warnOf = (stage: string) => ({ warn: (m: string) => this.warn(stage, m) });
    const onRefusal = (sink: string, refusal: { code: string; message: string }) => this.warn(`safety:${sink}`, `${refusal.code} ${refusal.message}`);

    // A usb-bridge stream is started through the firmware bridge, so the sinks come first there;
    // the simulator's light is a sink made by the source, so the source comes first otherwise.
    if (config.source.kind === 'usb-bridge') {
      this.sinks = createSinks(config, { clock: this.clock, simLight: null, log: warnOf('sinks'), onRefusal });
      this.created = createSource(config.source, { clock: this.clock, scheduler: this.deps.scheduler, log: warnOf('source'), streamControl: this.sinks.firmwareBridge });
    } else {
      this.created = createSource(config.source, { clock: this.clock, scheduler: this.deps.scheduler, log: warnOf('source') });
      this.sinks = createSinks(config, { clock: this.clock, simLight: this.created.simLight, log: warnOf('sinks'), onRefusal });
    }

    for (const [name, governor] of this.sinks.governors) {
      try {
        const info = await governor.open();
        this.info('sinks', `${name}: ${info.description}${info.firmwareVersion ? `, firmware ${info.firmwareVersion}` : ''}`);
      } catch (error) {
        // Acquisition goes on without this stimulator: its governor refuses everything sent to it.
        this.lastError = `sink ${name}: ${(error as Error).message}`;
        this.log.line('error', 'sinks', `${name}: cannot open: ${(error as Error).message}; running without it`);
      }
    }

    const source = this.created.source;
    const stream = await source.open();
    this.stream = stream;
    this.info('source', `${stream.description}: ${stream.channelCount} channels at ${stream.sampleRateHz} Hz`);
    const { layout, origin } = resolveLayout(config.probe, stream, this.created.layoutOf(), (m) => this.warn('probe', m));
    this.layout = layout;
    this.info('probe', `geometry from ${origin}`);

    const hoods = neighbourhoodsByRadius(layout, config.pipeline.snippets.radiusUm);
    this.units = await createUnitStage(config, { layout, sampleRateHz: stream.sampleRateHz, maxSnippetRows: hoods.maxSize, cellTypes: this.cellTypes, log: (m) => this.info('units', m) });

    this.rules = Object.keys(config.rules).length
      ? new RuleEngine({ rules: config.rules, sinks: this.sinks.governors, cellTypes: this.cellTypes, clock: this.clock, latency: this.ruleLatency })
      : null;
    if (this.rules) {
      // Each rule's output must hold its train before the first spike can fire it (the governor
      // refuses a trigger on an unprogrammed output). A sink that failed to open refuses this too:
      // logged, and acquisition goes on.
      try {
        await this.rules.programSinks();
      } catch (error) {
        this.lastError = `rules: ${(error as Error).message}`;
        this.log.line('error', 'rules', `programming the rule outputs failed: ${(error as Error).message}; those rules cannot fire`);
      }
    }
    this.optotag = new DaemonOptotagControl({
      config: config.optotag,
      governors: this.sinks.governors,
      streamId: stream.streamId,
      sampleRateHz: stream.sampleRateHz,
      streamClock: this.streamClock,
      layout,
      rig: config.rig,
      log: (level, line) => this.log.line(level, 'optotag', line),
      onEnd: (result) => {
        this.info('optotag', `session ${result.state}: ${result.pulsesDelivered} pulses delivered, ${result.units.filter((u) => u.tagged).length} of ${result.units.length} units tagged (${result.reason})`);
        this.deps.onOptotagEnd?.(result);
      },
    });
    this.commands = new ClosedLoopCommands({ governors: this.sinks.governors, rules: this.rules, optotag: this.optotag, log: (line) => this.info('commands', line) });

    if (config.bci.decoder) {
      const decoder = readDecoder(config.bci.decoder);
      this.bci = new BciOutput(decoder, (sample) => this.bus?.publishBci({ streamId: stream.streamId, binEndSample: sample.binEndSampleIndex, values: sample.values, names: decoder.outputs }), config.bci.closeDelayMs);
      this.info('bci', `decoder ${config.bci.decoder}: ${decoder.kind}, ${decoder.unitIds.length} units → ${decoder.outputs.join(', ')}`);
    }

    for (const [name, governor] of this.sinks.governors) {
      this.subscriptions.push(governor.acks$.subscribe((ack) => this.onAck(name, ack)));
    }

    if (config.bus.enabled) {
      const started = await startBusAndDashboard(config, this, { clock: this.clock, log: (level, message) => this.log.line(level, 'bus', message) });
      this.bus = started.bus;
      this.dashboardUrl = started.dashboardUrl;
      const address = this.bus.address;
      if (address) this.info('bus', `listening on ws://${address.host}:${address.port}/bus`);
    }

    if (config.recorder.enabled) {
      this.recorder = new Recorder(config.recorder, { rig: config.rig, log: (level, message) => this.log.line(level, 'recorder', message) });
      const waveform = config.pipeline.snippets.mode === 'snippets'
        ? { channels: hoods.maxSize, samples: config.pipeline.snippets.samplesBefore + 1 + config.pipeline.snippets.samplesAfter, samplesBefore: config.pipeline.snippets.samplesBefore }
        : null;
      const dir = await this.recorder.start({ stream, waveform });
      this.info('recorder', `recording to ${dir}`);
    }

    // The block path. Recording sees raw blocks; everything else sees the pipeline's results.
    const pipeline = buildPipeline(config.pipeline, layout);
    const paced = this.created.paced;
    this.subscriptions.push(
      source.blocks$
        .pipe(
          tap((block: SampleBlock) => {
            if (paced) this.ingress.observe(block);
            this.streamClock.update(block);
            this.counters.blocks++;
            this.counters.frames += block.frameCount;
            // The recorder copies the block into its queue (blocks are borrowed) and never throws.
            this.recorder?.writeBlock(block);
          }),
          pipeline,
        )
        .subscribe({
          next: (result) => this.onResult(result),
          error: (error) => this.onStreamError(error),
          complete: () => this.onStreamEnd(),
        }),
    );

    this.timers.push(setInterval(() => this.publishStatus(), config.daemon.statusIntervalMs));
    // The unit table goes out a slice every ~20 ms, each unit once per unitsIntervalMs (unit-table-publisher.ts).
    const unitSlices = Math.max(1, Math.round(config.daemon.unitsIntervalMs / UNIT_SLICE_MS));
    const unitTable = new UnitTablePublisher(
      { unitIds: () => this.units?.unitIds() ?? [], summaryOf: (id) => this.unitSummaryOf(id) },
      (units, removedUnitIds) => this.bus?.publishUnits(units, { removedUnitIds, complete: false }),
      unitSlices,
    );
    this.timers.push(setInterval(() => unitTable.tick(), config.daemon.unitsIntervalMs / unitSlices));
    for (const t of this.timers) t.unref();

    // optotagOnStart: the session needs the stream's clock, so it starts with the first block's
    // result (onResult) — on the stream clock, so that a simulated session is reproducible.
    this.optotagPendingStart = config.daemon.optotagOnStart;
    // After the classifier's worker started (it keeps normal priority), before the source's threads.
    if (config.daemon.realtimePriority > 0) {
      const outcome = requestRealtimePriority(config.daemon.realtimePriority);
      if (outcome.ok) this.info('daemon', outcome.message);
      else this.warn('daemon', outcome.message);
    }
    // After the priority (the helper inherits it: a real-time wake-up is what preempts), before the source.
    if (config.daemon.triggerKick && !this.deps.kickCpu) this.cpuKick = new CpuKick();
    await source.start();
    this.info('daemon', `running${this.dashboardUrl ? `; dashboard: ${this.dashboardUrl}` : ''}`);
  }

  /** Per block, synchronously: unit ids, then the stimulation path, then publishing, then unit maintenance. */
  private onResult(result: DetectionResult | SnippetResult): void {
    try {
      const batch = result.spikes;
      const block = result.block;
      const snippets = isSnippetResult(result) ? result : null;
      const arrivalNs = block.hostReceiveTimeNs;
      if (arrivalNs > 0) this.pipelineLatency.recordNs(this.clock.nowNs() - arrivalNs);
      // With early identification the rules see each spike once, in its short-snippet batch
      // (usually blocks before its full snippet), and the full assignment waits until after them.
      const early = snippets?.early ?? null;
      if (snippets && this.units) {
        if (early) this.units.identifyEarly(snippets);
        else this.units.assign(snippets);
        if (arrivalNs > 0) this.assignLatency.recordNs(this.clock.nowNs() - arrivalNs);
      }
      // The stimulation path first, on the fast pass's unit ids (a spike whose snippet needs overlap
      // resolution has none yet: a rule misses it rather than wait); then the rest of the assignment.
      const ruleBatch = early ?? batch;
      // A pause after the triggers lets the kernel deliver them before the rest of the block
      // (cpu-yield.ts); the kick, if the delivery is queued on the other CPU (cpu-kick.ts).
      if (ruleBatch.count > 0 && this.rules && this.rules.onSpikes(ruleBatch) > 0) {
        this.sleepUs(this.config.daemon.triggerYieldUs);
        this.kickCpu();
      }
      if (early) this.units?.assign(snippets!);
      if (snippets) this.units?.completeAssignment(snippets);
      this.counters.spikes += batch.count;
      this.deps.onSpikes?.(batch);
      const endSample = block.firstSampleIndex + block.frameCount;
      if (this.optotagPendingStart) this.startOptotagOnStart();
      if (batch.count > 0) {
        this.optotag?.session?.onSpikes(batch);
        this.bci?.onSpikes(batch);
      }
      this.optotag?.session?.poll(endSample, block.hostReceiveTimeNs);
      this.bci?.advance(endSample, block.sampleRateHz, block.hostReceiveTimeNs);
      if (batch.count > 0) {
        this.bus?.publishSpikes(batch);
        this.recorder?.writeSpikes(batch);
      }
      // Merges, splits and classification scheduling take milliseconds: after the triggers have left.
      if (snippets) this.units?.maintainIfDue(snippets);
      if (arrivalNs > 0) this.blockLatency.recordNs(this.clock.nowNs() - arrivalNs);
    } catch (error) {
      this.counters.failedBlocks++;
      if (this.counters.failedBlocks <= 10 || this.counters.failedBlocks % 1000 === 0) {
        this.log.line('error', 'daemon', `block processing failed (${this.counters.failedBlocks} so far): ${(error as Error).stack ?? error}`);
      }
    }
  }

  private startOptotagOnStart(): void {
    this.optotagPendingStart = false;
    const r = this.handle({ kind: 'start-optotag' }, 'config');
    if (!r.ok) this.warn('optotag', r.message);
  }

  /** The last optotagging session's result once it ended (null before). */
  get optotagResult(): OptotagResult | null {
    return this.optotag?.lastResult ?? null;
  }

  private onAck(sinkName: string, ack: StimulusAck): void {
    const cause = ack.cause;
    if (ack.kind === 'trigger' && ack.ok) {
      this.counters.triggers++;
      if (cause?.sourceReceiveTimeNs != null && cause.sourceReceiveTimeNs > 0) this.softwareLatency.recordNs(ack.hostWriteTimeNs - cause.sourceReceiveTimeNs);
    }
    const sink = this.config.sinks[sinkName];
    // The simulator reports the onset on the stream clock; other stimulators are placed by the host clock.
    const onset =
      sink?.kind === 'sim' && ack.deviceTimeUs !== null && this.stream
        ? Math.round((ack.deviceTimeUs * this.stream.sampleRateHz) / 1e6)
        : this.streamClock.sampleAtHostNs(ack.hostWriteTimeNs);
    const session = this.optotag?.session;
    if (ack.kind === 'trigger' && session && cause?.reason === 'optotag') {
      if (ack.ok) session.onPulseDelivered(ack.requestId, onset);
      else session.onPulseFailed(ack.requestId);
    }
    if (ack.kind === 'trigger' && ack.ok && this.recorder) {
      const p = session && cause?.reason === 'optotag' ? session.config.protocol : null;
      const rate = this.stream?.sampleRateHz ?? 30000;
      const widthSamples = p ? Math.round((p.pulseWidthMs * rate) / 1000) : 1;
      this.recorder.writeStimulus(onset, ack.outputMask, widthSamples);
    }
    if (!ack.ok && ack.error) this.warn(`sink:${sinkName}`, `${ack.kind} refused: ${ack.error.code} ${ack.error.message}`);
    this.bus?.publishStimulus({ ...ack, sink: sinkName });
    this.acks$.next({ sink: sinkName, ack });
  }

  private onStreamError(error: unknown): void {
    const message = isOptoloopError(error) ? error.toString() : String((error as Error)?.stack ?? error);
    this.lastError = message;
    this.log.line('error', 'source', `the stream failed for good: ${message}`);
    void this.stop();
  }

  private onStreamEnd(): void {
    if (!this.stopping) this.info('source', 'the stream ended');
    void this.stop();
  }

  /** The governed sinks by config name (empty before start): their refusal counts per limit, for status tools and benchmarks. */
  get governors(): ReadonlyMap<string, SafetyGovernor> {
    return this.sinks?.governors ?? new Map();
  }

  handle(command: DaemonCommand, origin: string): CommandResult {
    if (!this.commands) return { ok: false, code: 'E_SOURCE_STATE', message: 'the daemon is not running yet' };
    return this.commands.handle(command, origin);
  }

  /** The source the config made, once started (tests compare the simulator's ground truth with what the daemon saw). */
  get source(): SampleSource | null {
    return this.created?.source ?? null;
  }

  get estopEngaged(): boolean {
    for (const g of this.sinks?.governors.values() ?? []) if (g.estopEngaged) return true;
    return false;
  }

  status(): DaemonStatus {
    const source = this.created?.source;
    const devices: DeviceStatus[] = [];
    if (source) {
      const d = deviceStatusOf(this.config.source.kind, source);
      if (d) devices.push(d);
    }
    for (const [name, sink] of this.sinks?.devices ?? []) {
      const d = deviceStatusOf(name, sink);
      if (d) devices.push(d);
    }
    return {
      rig: this.config.rig,
      uptimeS: (this.clock.nowNs() - this.startedNs) / 1e9,
      streamTimeS: this.stream ? this.streamClock.currentSample / this.stream.sampleRateHz : 0,
      sourceBufferOccupancy: this.created?.paced ? this.ingress.takeOccupancy() : 0,
      blocksDropped: source?.counters.blocksDropped ?? 0,
      blocksOverflowed: source?.counters.blocksOverflowed ?? 0,
      recorderQueueOccupancy: this.recorder?.occupancy ?? null,
      latency: [this.softwareLatency.snapshot(), this.ruleLatency.snapshot(), this.pipelineLatency.snapshot(), this.assignLatency.snapshot(), this.blockLatency.snapshot()],
      devices,
      estopEngaged: this.estopEngaged,
      earlyIds: this.units?.earlyIdCounts() ?? null,
    };
  }

  private publishStatus(): void {
    for (const g of this.sinks?.governors.values() ?? []) g.flushRefusalLog();
    this.bus?.publishStatus(this.status());
  }

  /** The unit table: units with their classification and, while or after optotagging, their tag state. */
  unitSummaries(): UnitSummary[] {
    return (this.units?.units() ?? []).map((u) => this.withTag(u));
  }

  private unitSummaryOf(unitId: number): UnitSummary | null {
    const u = this.units?.summaryOf(unitId) ?? null;
    return u && this.withTag(u);
  }

  /** A unit's summary with the optotagging session's tag state, while or after a session. */
  private withTag(u: UnitSummary): UnitSummary {
    const session = this.optotag?.session;
    return session ? { ...u, tag: session.tagSummary(u.unitId) ?? u.tag } : u;
  }

  /** Stops the source, flushes the recorder, closes sinks (all light off) and the bus. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopping) return this.done;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    const steps: [string, () => Promise<unknown> | unknown][] = [
      ['source', async () => {
        const s = this.created?.source;
        if (s && s.state === 'running') await s.stop();
        if (s && s.state !== 'closed') await s.close();
      }],
      ['optotag', () => this.optotag?.session?.stop('the daemon is stopping', true)],
      ['sinks', async () => {
        for (const g of this.sinks?.governors.values() ?? []) {
          if (g.state === 'opened') await g.abort().catch(() => {});
          await g.close();
        }
      }],
      ['subscriptions', () => this.subscriptions.forEach((s) => s.unsubscribe())],
      ['units', () => {
        const earlyIds = this.units?.earlyIdCounts();
        if (earlyIds) this.info('units', describeEarlyIds(earlyIds));
        return this.units?.close();
      }],
      ['recorder', () => this.recorder?.stop()],
      ['cpu kick', () => this.cpuKick?.close()],
      ['bus', () => this.bus?.close()],
    ];
    for (const [stage, step] of steps) {
      try {
        await step();
      } catch (error) {
        this.warn('daemon', `stopping ${stage}: ${(error as Error).message}`);
      }
    }
    this.acks$.complete();
    this.info('daemon', `stopped: ${this.counters.blocks} blocks, ${this.counters.spikes} spikes, ${this.counters.triggers} triggers`);
    this.resolveDone();
  }

  /** The error that ended or degraded the run, if any (for the CLI's exit status). */
  get failure(): string | null {
    return this.lastError;
  }
}

