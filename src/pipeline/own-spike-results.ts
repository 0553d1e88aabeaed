import { map, type OperatorFunction } from 'rxjs';
import { cloneBlock } from '../core/sample-block.js';
import { cloneSpikeBatch } from '../core/spikes.js';
import type { SpikeResult } from './results.js';

/**
 * Copies each borrowed pipeline result (its filtered block, noise estimate and spike batch, with
 * snippets if any, and the early batch if any) into one the consumer owns: the {@link ownBlocks} of spike results, for
 * recorders, the bus or any consumer that buffers or works asynchronously. Allocates per result.
 */
export function ownSpikeResults<R extends SpikeResult>(): OperatorFunction<R, R> {
  return map((result) => {
    const early = 'early' in result && result.early ? cloneSpikeBatch(result.early) : undefined;
    return { block: cloneBlock(result.block), noiseUv: result.noiseUv.slice(), spikes: cloneSpikeBatch(result.spikes), ...(early ? { early } : {}) } as R;
  });
}
