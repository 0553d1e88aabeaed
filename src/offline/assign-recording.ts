/**
 * A recording through the live unit path, offline and as fast as it computes: file replay →
 * the detection pipeline (the rig config's `pipeline` section) → OnlineUnits (online clustering or
 * template matching, per-unit features, and the classifier worker when a model is set). Used by
 * `optoloop classify` (units and cell types) and `optoloop fit-decoder --recording` (per-unit spike
 * times).
 */
import { classifierConfigSchema, type ClassifierConfig } from '../classify/config.js';
import { OnlineUnits } from '../classify/online/online-units.js';
import { OnlineClusterer } from '../classify/units/online-clusterer.js';
import type { RigConfig } from '../config/rig-config.js';
import * as s from '../config/schema.js';
import { OptoloopError } from '../core/errors.js';
import type { SnippetResult } from '../core/spikes.js';
import { FileReplaySource } from '../io/file-replay-source.js';
import { openRecording } from '../io/open-recording.js';
import type { StreamInfo } from '../core/sample-source.js';
import type { RecordingFormat } from '../io/recording-reader.js';
import { buildPipeline, hasSnippets, type PipelineOptionsInput } from '../pipeline/index.js';
import { pipelineOptionsSchema, validateOptions } from '../pipeline/options.js';
import { layoutFromProbe, linearLayout, type ChannelLayout } from '../probe/channel-layout.js';
import { neighbourhoodsByRadius } from '../probe/neighbourhoods.js';
import { readProbeFile } from '../probe/probeinterface.js';

export interface AssignRecordingOptions {
  readonly path: string;
  readonly format: RecordingFormat | 'auto';
  /** The rig config whose pipeline, probe and classifier sections apply (null: the defaults). */
  readonly rig: RigConfig | null;
  /** Where the rig config came from, for messages. */
  readonly configPath?: string;
  /** Replaces fields of the classifier section (model, templates, backend, …). */
  readonly classifier?: Partial<ClassifierConfig>;
  /** A probeinterface file; overrides the rig config's probe.file. */
  readonly probeFile?: string | null;
  readonly warn: (message: string) => void;
  readonly log?: (line: string) => void;
  /** Every block's result after unit assignment (borrowed: copy what you keep). */
  readonly onResult?: (result: SnippetResult) => void;
  /** Frames done since the recording's first sample. */
  readonly onProgress?: (framesDone: number, info: StreamInfo) => void;
}

export interface AssignedRecording {
  readonly info: StreamInfo;
  readonly layout: ChannelLayout;
  readonly classifier: ClassifierConfig;
  /** Still open, flushed to the end of the recording: the caller closes it. */
  readonly units: OnlineUnits;
  /** Sample index of the recording's first sample (spike sample indices count from the stream's origin). */
  readonly firstSampleIndex: number;
  /** Frames replayed. */
  readonly frames: number;
  readonly wallS: number;
}

export async function assignRecordingUnits(options: AssignRecordingOptions): Promise<AssignedRecording> {
  const { rig } = options;
  const pipelineInput = (rig?.pipeline ?? {}) as PipelineOptionsInput;
  const pipeline = validateOptions(pipelineOptionsSchema, pipelineInput, 'pipeline');
  if (pipeline.snippets.mode !== 'snippets') {
    throw new OptoloopError('E_CONFIG_INVALID', `${options.configPath ? `${options.configPath}: ` : ''}pipeline.snippets.mode: expected "snippets" (units need waveform snippets), got "peak-only"`, { stage: 'offline' });
  }
  const base = rig?.classifier ?? (s.validate(classifierConfigSchema, {}) as { value: ClassifierConfig }).value;
  const classifier: ClassifierConfig = { ...base, ...options.classifier };
  const reader = openRecording(options.path, options.format);
  let units: OnlineUnits | null = null;
  try {
    const info = reader.info;
    let layout: ChannelLayout;
    const probeFile = options.probeFile ?? rig?.probe.file ?? null;
    if (probeFile) layout = layoutFromProbe(readProbeFile(probeFile, rig?.probe.probeIndex ?? 0), info.channelCount, { channelContactIds: rig?.probe.channelContactIds ?? undefined });
    else if (reader.layout) layout = reader.layout;
    else {
      layout = linearLayout(info.channelCount);
      options.warn(`${options.path} states no channel geometry and no probe file was given: assuming one line of contacts 20 µm apart`);
    }
    const rows = neighbourhoodsByRadius(layout, pipeline.snippets.radiusUm).maxSize;
    units = await OnlineUnits.create({ config: classifier, layout, sampleRateHz: info.sampleRateHz, maxSnippetRows: rows, log: options.log });
    const started = performance.now();
    let frames = 0;
    const source = new FileReplaySource(reader, { realTime: false, blockFrames: Math.max(1, Math.round(info.sampleRateHz / 100)) });
    await source.open();
    const assigned = units;
    const done = new Promise<void>((resolveDone, reject) => {
      source.blocks$.pipe(buildPipeline(pipelineInput, layout)).subscribe({
        next: (result) => {
          if (!hasSnippets(result)) return;
          assigned.process(result as SnippetResult);
          options.onResult?.(result as SnippetResult);
          frames = result.block.firstSampleIndex + result.block.frameCount - reader.firstSampleIndex;
          options.onProgress?.(frames, info);
        },
        error: reject,
        complete: () => resolveDone(),
      });
    });
    await source.start();
    await done;
    await units.flush((reader.firstSampleIndex + frames) / info.sampleRateHz);
    await source.close();
    return { info, layout, classifier, units, firstSampleIndex: reader.firstSampleIndex, frames, wallS: (performance.now() - started) / 1000 };
  } catch (error) {
    await units?.close();
    throw error;
  } finally {
    reader.close();
  }
}

/** The id a unit id assigned during the run goes by at its end (online clustering merges units; template ids never change). */
export function finalUnitId(units: OnlineUnits, unitId: number): number {
  return unitId >= 0 && units.assigner instanceof OnlineClusterer ? units.assigner.resolve(unitId) : unitId;
}
