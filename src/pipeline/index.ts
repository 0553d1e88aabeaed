/**
 * The spike-detection pipeline's public surface: `buildPipeline` for the daemon and the CLI, the
 * single operators for custom chains and tools, and the ownership helpers.
 */
export { buildPipeline, type PipelineOptionsInput } from './build-pipeline.js';
export { commonReference } from './reference.js';
export { bandpass } from './bandpass.js';
export { estimateNoise } from './noise.js';
export { detectSpikes } from './detect.js';
export { extractSnippets } from './snippets.js';
export { ownBlocks } from './own-blocks.js';
export { ownSpikeResults } from './own-spike-results.js';
export { hasSnippets, type NoiseBlock, type SpikeResult } from './results.js';
export { pipelineOptionsSchema, type PipelineOptions } from './options.js';
