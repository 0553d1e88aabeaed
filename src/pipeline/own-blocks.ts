import { map, type OperatorFunction } from 'rxjs';
import { cloneBlock, type SampleBlock } from '../core/sample-block.js';

/**
 * Copies each borrowed block into one the consumer owns (trimmed to its frames), so that it may
 * be kept beyond the `next()` call: put it before any buffering or asynchronous operator
 * (`bufferCount`, `delay`, `observeOn`, `shareReplay`, a queue, a worker). Allocates per block by
 * design — keep it off the hot path.
 */
export function ownBlocks<B extends SampleBlock>(): OperatorFunction<B, B> {
  return map((block) => cloneBlock(block));
}
