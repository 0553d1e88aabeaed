/** The `bci` config section: decode unit rates into continuous outputs at the bin rate. */
import * as s from '../../config/schema.js';

export const bciConfigSchema = s.object(
  {
    decoder: s.nullable(s.string({ minLength: 1 }), {
      description: 'A decoder file written by `optoloop fit-decoder` (format: docs/bci.md); null: no BCI output.',
    }),
    closeDelayMs: s.number({
      min: 0,
      max: 1000,
      default: 1,
      description: 'A bin is decoded this long after its end, so that spikes detected late (the detection window) still count.',
    }),
  },
  { description: 'Brain-computer interface output: binned unit rates through a linear or Kalman decoder.' },
);

export type BciConfig = s.Infer<typeof bciConfigSchema>;
