import { pipe, type OperatorFunction } from 'rxjs';
import type { SampleBlock } from '../core/sample-block.js';
import type { ChannelLayout } from '../probe/channel-layout.js';
import { bandpass } from './bandpass.js';
import { detectSpikes } from './detect.js';
import { estimateNoise } from './noise.js';
import { pipelineOptionsSchema, validateOptions, type PipelineOptions } from './options.js';
import { commonReference } from './reference.js';
import type { SpikeResult } from './results.js';
import { extractSnippets } from './snippets.js';

/** Deep-partial pipeline options, as written in a rig config's `pipeline:` section (defaults fill the rest). */
export type PipelineOptionsInput = { readonly [K in keyof PipelineOptions]?: Partial<PipelineOptions[K]> };

/**
 * The spike-detection pipeline: common reference → band-pass → noise estimate → detection →
 * snippets (or the peak-only pass-through), configured by the rig config's `pipeline` section and
 * the probe's channel layout. Options are validated now (errors name the field, e.g.
 * `pipeline.bandpass.highHz: expected …`); the sample rate is checked against the band-pass corners
 * at the first block.
 *
 * Each subscription gets its own buffers and filter state. Every emitted {@link SpikeResult} is
 * borrowed (valid during `next()` only): use `hasSnippets()` to tell the two kinds apart, and
 * `ownSpikeResults()` before buffering them.
 */
export function buildPipeline(options: PipelineOptionsInput | undefined, layout: ChannelLayout): OperatorFunction<SampleBlock, SpikeResult> {
  const opts = validateOptions(pipelineOptionsSchema, options, 'pipeline');
  return pipe(
    commonReference(opts.reference, layout),
    bandpass(opts.bandpass),
    estimateNoise(opts.noise),
    detectSpikes(opts.detect, layout),
    extractSnippets(opts.snippets, layout),
  );
}
