/**
 * The classifier network, a smaller cousin of C4's (science.md §1) that trains on a CPU in
 * minutes: per input an encoder — waveform MLP 90 → 32 → 16, 3D-ACG MLP 1010 → 32 → 16 (C4 uses a
 * conv encoder; TensorFlow.js's wasm backend has no convolution gradients, and an MLP on 1010
 * values trains well at this size), the layer one-hot as is — concatenated, batch-normalised,
 * then 32 → classes with softmax. ≈ 35 k parameters. Every initialiser is seeded, so training is
 * reproducible.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import type { ModelManifest } from './manifest.js';
import type { TfModule } from './tf-backend.js';

export interface ArchitectureOptions {
  readonly seed: number;
  /** Width of each encoder's hidden layer. */
  readonly encoderHidden?: number;
  /** Width of each encoder's output (C4: latent 10). */
  readonly encoderLatent?: number;
  readonly headHidden?: number;
  /** L2 penalty on dense kernels. */
  readonly l2?: number;
}

export function buildMemberModel(tf: TfModule, manifest: ModelManifest, options: ArchitectureOptions): LayersModel {
  const hidden = options.encoderHidden ?? 32;
  const latent = options.encoderLatent ?? 16;
  const head = options.headHidden ?? 32;
  const l2 = options.l2 ?? 1e-4;
  let seed = options.seed * 1000;
  const dense = (units: number, activation: 'relu' | 'softmax', name: string) =>
    tf.layers.dense({
      units,
      activation,
      name,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }),
      biasInitializer: 'zeros',
      kernelRegularizer: l2 > 0 ? tf.regularizers.l2({ l2 }) : undefined,
    });
  const inputs: SymbolicTensor[] = [];
  const encoded: SymbolicTensor[] = [];
  for (const input of manifest.inputs) {
    const symbol = tf.input({ shape: input.shape, name: `input_${input.name}` });
    inputs.push(symbol);
    if (input.feature === 'layer-one-hot') {
      encoded.push(symbol);
      continue;
    }
    let x = input.shape.length > 1 ? (tf.layers.flatten({ name: `${input.name}_flat` }).apply(symbol) as SymbolicTensor) : symbol;
    x = dense(hidden, 'relu', `${input.name}_hidden`).apply(x) as SymbolicTensor;
    x = dense(latent, 'relu', `${input.name}_latent`).apply(x) as SymbolicTensor;
    encoded.push(x);
  }
  let x = encoded.length > 1 ? (tf.layers.concatenate({ name: 'concat' }).apply(encoded) as SymbolicTensor) : encoded[0];
  x = tf.layers.batchNormalization({ name: 'head_norm' }).apply(x) as SymbolicTensor;
  x = dense(head, 'relu', 'head_hidden').apply(x) as SymbolicTensor;
  const output = dense(manifest.classes.length, 'softmax', 'probabilities').apply(x) as SymbolicTensor;
  return tf.model({ inputs, outputs: output, name: `${manifest.name}_member_${options.seed}` });
}
