/**
 * Conversions between optoloop's TypeScript values and the bus's protobuf messages (as the plain
 * objects protobufjs encodes and decodes). Publishing happens a few times a second per topic, so
 * these build small objects freely; the per-spike path does not come through here (see
 * spike-accumulator.ts).
 */
import type { DaemonCommand } from '../core/commands.js';
import type { DeviceStatus, EarlyIdCounts, LatencyHistogramSnapshot } from '../core/status.js';
import type { StimulusAckKind, StimulusCause } from '../core/stimulus-sink.js';
import type { ClassificationSummary, PsthSummary, TagState, TagSummary, UnitSummary } from '../core/units.js';
import { BUS_PERMISSIONS, type BusPermission } from './config.js';
import type { BciOutput, BusStats, BusStatus, DroppedNotice, ReceivedSpikeBatch, StimulusEvent, UnitUpdate, Welcome } from './messages.js';
import { DATA_TOPICS, Topic, topicName, type DataTopicName } from './wire.js';

/** A decoded protobuf message: fields by camelCase name (absent optional fields read as null). */
// protobufjs reflection yields untyped objects; each use below reads known fields of one type.
type Decoded = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const PERMISSION_IDS: Record<BusPermission, number> = { subscribe: 1, command: 2, stimulate: 3 };
const TAG_STATES: readonly TagState[] = ['untested', 'testing', 'tagged', 'not-tagged'];
const ACK_KINDS: readonly StimulusAckKind[] = ['program', 'trigger', 'abort'];

export function permissionId(p: BusPermission): number {
  return PERMISSION_IDS[p];
}

export function permissionFromId(id: number): BusPermission | null {
  return BUS_PERMISSIONS.find((p) => PERMISSION_IDS[p] === id) ?? null;
}

export function dataTopicsFromIds(ids: readonly number[]): DataTopicName[] {
  const out: DataTopicName[] = [];
  for (const id of ids) {
    const name = topicName(id);
    if (name && (DATA_TOPICS as readonly string[]).includes(name) && !out.includes(name as DataTopicName)) out.push(name as DataTopicName);
  }
  return out;
}

export function topicIds(names: readonly DataTopicName[]): number[] {
  return names.map((n) => Topic[n]);
}

const opt = <T>(v: T | null | undefined): T | null => (v === undefined ? null : v);

// ---------------------------------------------------------------- commands

/** The permission a command needs; null = any authenticated client (the emergency stop). */
export function requiredPermission(command: DaemonCommand): BusPermission | null {
  switch (command.kind) {
    case 'estop':
      return null;
    case 'release-estop':
    case 'stimulate':
    case 'start-optotag':
      return 'stimulate';
    case 'set-rule-enabled':
      return command.enabled ? 'stimulate' : 'command';
    case 'stop-optotag':
      return 'command';
  }
}

export function commandToMessage(command: DaemonCommand, requestId: number): Decoded {
  const base = { requestId };
  switch (command.kind) {
    case 'stimulate':
      return { ...base, stimulate: { sink: command.sink, output: command.output, train: { ...command.train } } };
    case 'estop':
      return { ...base, estop: {} };
    case 'release-estop':
      return { ...base, releaseEstop: {} };
    case 'start-optotag':
      return { ...base, startOptotag: {} };
    case 'stop-optotag':
      return { ...base, stopOptotag: {} };
    case 'set-rule-enabled':
      return { ...base, setRuleEnabled: { rule: command.rule, enabled: command.enabled } };
  }
}

/** A decoded CommandRequest as a DaemonCommand, or why it is not one (for E_BUS_MALFORMED). */
export function messageToCommand(m: Decoded): { command: DaemonCommand } | { error: string } {
  switch (m.command) {
    case 'stimulate': {
      const st = m.stimulate as Decoded;
      if (typeof st.sink !== 'string' || st.sink.length === 0 || st.sink.length > 128) {
        return { error: 'stimulate.sink: expected the name of a configured sink (1–128 characters)' };
      }
      if (!(st.output >= 0 && st.output < 32)) return { error: `stimulate.output: expected an output 0…31, got ${st.output}` };
      const t = st.train as Decoded | null;
      if (!t) return { error: 'stimulate.train: missing; expected a PulseTrain' };
      const fields: [string, number, (v: number) => boolean, string][] = [
        ['pulse_width_ms', t.pulseWidthMs, (v) => v > 0, 'a positive number'],
        ['pulse_interval_ms', t.pulseIntervalMs, (v) => v >= 0, 'a number ≥ 0'],
        ['pulse_count', t.pulseCount, (v) => Number.isInteger(v) && v >= 1, 'an integer ≥ 1'],
        ['delay_ms', t.delayMs, (v) => v >= 0, 'a number ≥ 0'],
        ['level', t.level, (v) => v >= 0 && v <= 1, 'a fraction 0…1'],
      ];
      for (const [name, value, ok, expected] of fields) {
        if (!Number.isFinite(value) || !ok(value)) return { error: `stimulate.train.${name}: expected ${expected}, got ${value}` };
      }
      return {
        command: {
          kind: 'stimulate',
          sink: st.sink,
          output: st.output,
          train: { pulseWidthMs: t.pulseWidthMs, pulseIntervalMs: t.pulseIntervalMs, pulseCount: t.pulseCount, delayMs: t.delayMs, level: t.level },
        },
      };
    }
    case 'estop':
      return { command: { kind: 'estop' } };
    case 'releaseEstop':
      return { command: { kind: 'release-estop' } };
    case 'startOptotag':
      return { command: { kind: 'start-optotag' } };
    case 'stopOptotag':
      return { command: { kind: 'stop-optotag' } };
    case 'setRuleEnabled': {
      const r = m.setRuleEnabled as Decoded;
      if (typeof r.rule !== 'string' || r.rule.length === 0) return { error: 'set_rule_enabled.rule: expected a rule id' };
      return { command: { kind: 'set-rule-enabled', rule: r.rule, enabled: Boolean(r.enabled) } };
    }
    default:
      return { error: 'command: none of stimulate, estop, release_estop, start_optotag, stop_optotag, set_rule_enabled is set' };
  }
}

// ---------------------------------------------------------------- units

export function unitToMessage(u: UnitSummary): Decoded {
  return {
    unitId: u.unitId,
    streamId: u.streamId,
    peakChannel: u.peakChannel,
    spikeCount: u.spikeCount,
    firingRateHz: u.firingRateHz,
    troughToPeakMs: u.troughToPeakMs,
    meanWaveformUv: u.meanWaveformUv,
    acg: u.acg,
    layer: u.layer,
    classification: u.classification
      ? {
          classNames: u.classification.classNames,
          probabilities: u.classification.probabilities,
          confidenceRatio: u.classification.confidenceRatio,
          label: u.classification.label,
          spikeCount: u.classification.spikeCount,
          timeToLabelS: u.classification.timeToLabelS,
          modelName: u.classification.modelName,
        }
      : null,
    tag: u.tag
      ? {
          state: TAG_STATES.indexOf(u.tag.state),
          pulses: u.tag.pulses,
          saltP: u.tag.saltP,
          saltI: u.tag.saltI,
          latencyMs: u.tag.latencyMs,
          jitterMs: u.tag.jitterMs,
          reliability: u.tag.reliability,
          allenRatio: u.tag.allenRatio,
          waveformCorrelation: u.tag.waveformCorrelation,
          psth: u.tag.psth ? { binMs: u.tag.psth.binMs, startMs: u.tag.psth.startMs, counts: u.tag.psth.counts } : null,
        }
      : null,
  };
}

export function messageToUnit(m: Decoded): UnitSummary {
  const c = m.classification as Decoded | null;
  const t = m.tag as Decoded | null;
  const classification: ClassificationSummary | null = c
    ? {
        classNames: [...c.classNames],
        probabilities: [...c.probabilities],
        confidenceRatio: c.confidenceRatio,
        label: opt(c.label),
        spikeCount: c.spikeCount,
        timeToLabelS: opt(c.timeToLabelS),
        modelName: c.modelName,
      }
    : null;
  const psth: PsthSummary | null = t?.psth ? { binMs: t.psth.binMs, startMs: t.psth.startMs, counts: [...t.psth.counts] } : null;
  const tag: TagSummary | null = t
    ? {
        state: TAG_STATES[t.state] ?? 'untested',
        pulses: t.pulses,
        saltP: opt(t.saltP),
        saltI: opt(t.saltI),
        latencyMs: opt(t.latencyMs),
        jitterMs: opt(t.jitterMs),
        reliability: opt(t.reliability),
        allenRatio: opt(t.allenRatio),
        waveformCorrelation: opt(t.waveformCorrelation),
        psth,
      }
    : null;
  return {
    unitId: m.unitId,
    streamId: m.streamId,
    peakChannel: m.peakChannel,
    spikeCount: m.spikeCount,
    firingRateHz: m.firingRateHz,
    troughToPeakMs: opt(m.troughToPeakMs),
    meanWaveformUv: [...m.meanWaveformUv],
    acg: [...m.acg],
    layer: opt(m.layer),
    classification,
    tag,
  };
}

export function unitUpdateToMessage(units: readonly UnitSummary[], removedUnitIds: readonly number[], complete: boolean): Decoded {
  return { units: units.map(unitToMessage), removedUnitIds, complete };
}

export function messageToUnitUpdate(m: Decoded): UnitUpdate {
  return { units: (m.units as Decoded[]).map(messageToUnit), removedUnitIds: [...m.removedUnitIds], complete: Boolean(m.complete) };
}

// ---------------------------------------------------------------- stimulus

export function stimulusToMessage(e: StimulusEvent): Decoded {
  return {
    requestId: e.requestId,
    kind: ACK_KINDS.indexOf(e.kind),
    outputMask: e.outputMask >>> 0,
    ok: e.ok,
    deviceTimeUs: e.deviceTimeUs,
    hostWriteTimeNs: e.hostWriteTimeNs,
    hostAckTimeNs: e.hostAckTimeNs,
    cause: e.cause
      ? { reason: e.cause.reason, streamId: e.cause.streamId, sampleIndex: e.cause.sampleIndex, sourceReceiveTimeNs: e.cause.sourceReceiveTimeNs }
      : null,
    error: e.error ? { code: e.error.code, message: e.error.message } : null,
    sink: e.sink,
  };
}

export function messageToStimulus(m: Decoded): StimulusEvent {
  const c = m.cause as Decoded | null;
  const cause: StimulusCause | null = c
    ? { reason: c.reason, streamId: opt(c.streamId), sampleIndex: opt(c.sampleIndex), sourceReceiveTimeNs: opt(c.sourceReceiveTimeNs) }
    : null;
  return {
    requestId: m.requestId,
    kind: ACK_KINDS[m.kind] ?? 'trigger',
    outputMask: m.outputMask,
    ok: m.ok,
    deviceTimeUs: opt(m.deviceTimeUs),
    hostWriteTimeNs: m.hostWriteTimeNs,
    hostAckTimeNs: m.hostAckTimeNs,
    cause,
    error: m.error ? { code: m.error.code, message: m.error.message } : null,
    sink: m.sink,
  };
}

// ---------------------------------------------------------------- BCI

export function bciToMessage(b: BciOutput, includeNames: boolean): Decoded {
  return { streamId: b.streamId, binEndSample: b.binEndSample, values: b.values, names: includeNames ? b.names : [] };
}

export function messageToBci(m: Decoded, knownNames: readonly string[] | undefined): BciOutput {
  const names = (m.names as string[]).length ? [...m.names] : (knownNames ?? []);
  return { streamId: m.streamId, binEndSample: m.binEndSample, values: Float64Array.from(m.values as number[]), names };
}

// ---------------------------------------------------------------- status

function histogramToMessage(h: LatencyHistogramSnapshot): Decoded {
  return {
    name: h.name,
    bucketUpperUs: h.bucketUpperUs,
    counts: h.counts,
    count: h.count,
    p50Us: h.p50Us,
    p99Us: h.p99Us,
    p999Us: h.p999Us,
    maxUs: h.maxUs,
  };
}

function deviceToMessage(d: DeviceStatus): Decoded {
  return { ...d };
}

export function statusToMessage(s: BusStatus): Decoded {
  return {
    rig: s.rig,
    uptimeS: s.uptimeS,
    streamTimeS: s.streamTimeS,
    sourceBufferOccupancy: s.sourceBufferOccupancy,
    blocksDropped: s.blocksDropped,
    blocksOverflowed: s.blocksOverflowed,
    recorderQueueOccupancy: s.recorderQueueOccupancy,
    recorderFramesDropped: s.recorderFramesDropped ?? null,
    latency: s.latency.map(histogramToMessage),
    devices: s.devices.map(deviceToMessage),
    estopEngaged: s.estopEngaged,
    bus: s.bus ? { ...s.bus } : null,
    earlyIds: s.earlyIds ? { ...s.earlyIds } : null,
  };
}

export function messageToStatus(m: Decoded): BusStatus {
  const bus = m.bus as Decoded | null;
  const busStats: BusStats | null = bus ? { clients: bus.clients, messagesDropped: bus.messagesDropped, messagesSent: bus.messagesSent } : null;
  return {
    rig: m.rig,
    uptimeS: m.uptimeS,
    streamTimeS: m.streamTimeS,
    sourceBufferOccupancy: m.sourceBufferOccupancy,
    blocksDropped: m.blocksDropped,
    blocksOverflowed: m.blocksOverflowed,
    recorderQueueOccupancy: opt(m.recorderQueueOccupancy),
    recorderFramesDropped: opt(m.recorderFramesDropped),
    latency: (m.latency as Decoded[]).map((h) => ({
      name: h.name,
      bucketUpperUs: [...h.bucketUpperUs],
      counts: [...h.counts],
      count: h.count,
      p50Us: opt(h.p50Us),
      p99Us: opt(h.p99Us),
      p999Us: opt(h.p999Us),
      maxUs: opt(h.maxUs),
    })),
    devices: (m.devices as Decoded[]).map((d) => ({
      name: d.name,
      kind: d.kind,
      state: d.state as DeviceStatus['state'],
      bytes: d.bytes,
      blocks: d.blocks,
      resyncs: d.resyncs,
      drops: d.drops,
      lastError: opt(d.lastError),
    })),
    estopEngaged: Boolean(m.estopEngaged),
    bus: busStats,
    earlyIds: earlyIdsOf(m.earlyIds as Decoded | null | undefined),
  };
}

function earlyIdsOf(e: Decoded | null | undefined): EarlyIdCounts | null {
  if (!e) return null;
  return { spikes: e.spikes, agreed: e.agreed, missed: e.missed, differed: e.differed, extra: e.extra, neither: e.neither };
}

// ---------------------------------------------------------------- spikes, control

export function messageToSpikes(m: Decoded): ReceivedSpikeBatch {
  const peakSampleIndex = Float64Array.from(m.peakSampleIndex as number[]);
  return {
    streamId: m.streamId,
    sampleRateHz: m.sampleRateHz,
    count: peakSampleIndex.length,
    peakSampleIndex,
    peakChannel: Int32Array.from(m.peakChannel as number[]),
    amplitudeUv: Float32Array.from(m.amplitudeUv as number[]),
    unitId: Int32Array.from(m.unitId as number[]),
    spikesOmitted: m.spikesOmitted,
  };
}

export function messageToWelcome(m: Decoded): Welcome {
  const l = (m.limits as Decoded | null) ?? {};
  return {
    clientId: m.clientId,
    serverVersion: m.serverVersion,
    rig: m.rig,
    tokenName: m.tokenName,
    permissions: (m.permissions as number[]).map(permissionFromId).filter((p): p is BusPermission => p !== null),
    topics: dataTopicsFromIds(m.topics as number[]),
    limits: {
      maxMessageBytes: l.maxMessageBytes ?? 0,
      messagesPerS: l.messagesPerS ?? 0,
      burst: l.burst ?? 0,
      maxBufferedBytes: l.maxBufferedBytes ?? 0,
    },
    protocolVersion: m.protocolVersion,
  };
}

export function messageToDropped(m: Decoded): DroppedNotice {
  const toRecord = (list: Decoded[]) => {
    const out: Partial<Record<DataTopicName, number>> = {};
    for (const e of list) {
      const [name] = dataTopicsFromIds([e.topic]);
      if (name) out[name] = e.count;
    }
    return out;
  };
  return { total: toRecord(m.total as Decoded[]), sinceLastNotice: toRecord(m.sinceLastNotice as Decoded[]) };
}
