/**
 * A loaded classifier: its manifest and ensemble members. `predict` is synchronous and leaves no
 * tensor behind (everything runs inside tf.tidy and the result is read out and disposed), so that a
 * long-running worker's tensor count stays flat.
 */
import { join } from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { OptoloopError } from '../../core/errors.js';
import { readManifest, type ModelManifest } from './manifest.js';
import { fileLoadHandler } from './model-files.js';
import type { TfModule } from './tf-backend.js';

export class Ensemble {
  private constructor(
    readonly tf: TfModule,
    readonly manifest: ModelManifest,
    readonly directory: string,
    private readonly members: LayersModel[],
  ) {}

  static async load(tf: TfModule, directory: string): Promise<Ensemble> {
    const manifest = readManifest(directory);
    const members: LayersModel[] = [];
    for (const [i, member] of manifest.members.entries()) {
      const path = join(directory, member);
      let model: LayersModel;
      try {
        model = await tf.loadLayersModel(fileLoadHandler(path));
      } catch (cause) {
        if (cause instanceof OptoloopError) throw cause;
        throw new OptoloopError('E_MODEL_INVALID', `${path}: members[${i}]: not a loadable TensorFlow.js layers model (${(cause as Error).message})`, {
          stage: 'classify.model',
          cause,
          details: { file: path, field: `members[${i}]` },
        });
      }
      Ensemble.checkShapes(model, manifest, path, i);
      members.push(model);
    }
    return new Ensemble(tf, manifest, directory, members);
  }

  /** The members' inputs must be the manifest's, in order, and their output one per class. */
  private static checkShapes(model: LayersModel, manifest: ModelManifest, path: string, member: number): void {
    const fail = (field: string, message: string) =>
      new OptoloopError('E_MODEL_INVALID', `${path}: ${field}: ${message}`, { stage: 'classify.model', details: { file: path, field, member } });
    if (model.inputs.length !== manifest.inputs.length) throw fail('inputs', `the model takes ${model.inputs.length} inputs but the manifest defines ${manifest.inputs.length}`);
    model.inputs.forEach((symbol, k) => {
      const shape = symbol.shape.slice(1).join();
      if (shape !== manifest.inputs[k].shape.join()) throw fail(`inputs[${k}].shape`, `the model expects [${shape}] but the manifest says [${manifest.inputs[k].shape.join(', ')}] for "${manifest.inputs[k].name}"`);
    });
    const outputs = model.outputs[0].shape[model.outputs[0].shape.length - 1];
    if (outputs !== manifest.classes.length) throw fail('classes', `the model outputs ${outputs} probabilities but the manifest names ${manifest.classes.length} classes`);
  }

  get memberCount(): number {
    return this.members.length;
  }

  /**
   * Class probabilities (averaged over the members) of `batch` units whose inputs are in
   * `inputs` (one unit-major Float32Array per manifest input) into `out` (batch × classes).
   */
  predict(inputs: readonly Float32Array[], batch: number, out: Float32Array): void {
    const tf = this.tf;
    const classes = this.manifest.classes.length;
    const result = tf.tidy(() => {
      const tensors = this.manifest.inputs.map((input, k) => {
        const size = input.shape.reduce((a, b) => a * b, 1);
        return tf.tensor(inputs[k].subarray(0, batch * size), [batch, ...input.shape], 'float32');
      });
      let sum: Tensor | null = null;
      for (const member of this.members) {
        const p = member.predict(tensors, { batchSize: Math.max(1, batch) }) as Tensor;
        sum = sum ? tf.add(sum, p) : p;
      }
      return tf.div(sum as Tensor, this.members.length);
    });
    try {
      out.set((result.dataSync() as Float32Array).subarray(0, batch * classes));
    } finally {
      result.dispose();
    }
  }

  dispose(): void {
    for (const m of this.members) m.dispose();
    this.members.length = 0;
  }
}
