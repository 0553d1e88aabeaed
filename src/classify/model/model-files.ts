/**
 * Reads and writes TensorFlow.js layers models as files — `model.json` (format "layers-model",
 * the topology and a weights manifest) beside `weights.bin` — the layout tfjs's own converters and
 * `tf.loadLayersModel('file://…')` (tfjs-node) use, without needing tfjs-node: an IOHandler over
 * node:fs.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { io } from '@tensorflow/tfjs';
import { OptoloopError } from '../../core/errors.js';

const WEIGHTS_FILE = 'weights.bin';

function concatenate(data: ArrayBuffer | ArrayBuffer[]): ArrayBuffer {
  if (!Array.isArray(data)) return data;
  const total = data.reduce((n, b) => n + b.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const b of data) {
    out.set(new Uint8Array(b), at);
    at += b.byteLength;
  }
  return out.buffer;
}

/** An IOHandler that saves to `<dir>/model.json` + `<dir>/weights.bin`. */
export function fileSaveHandler(modelJsonPath: string): io.IOHandler {
  return {
    async save(artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
      const dir = dirname(modelJsonPath);
      try {
        mkdirSync(dir, { recursive: true });
        const weights = concatenate((artifacts.weightData ?? new ArrayBuffer(0)) as ArrayBuffer | ArrayBuffer[]);
        writeFileSync(join(dir, WEIGHTS_FILE), new Uint8Array(weights));
        const json = {
          format: 'layers-model',
          generatedBy: artifacts.generatedBy,
          convertedBy: artifacts.convertedBy ?? null,
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
        };
        writeFileSync(modelJsonPath, `${JSON.stringify(json)}\n`);
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
      } catch (cause) {
        throw new OptoloopError('E_FILE_WRITE', `${modelJsonPath}: cannot write the model (${(cause as Error).message})`, { stage: 'classify.model', cause, details: { file: modelJsonPath } });
      }
    },
  };
}

function invalid(path: string, field: string, message: string): OptoloopError {
  return new OptoloopError('E_MODEL_INVALID', `${path}: ${field}: ${message}`, { stage: 'classify.model', details: { file: path, field } });
}

/** An IOHandler that loads `model.json` and the weight files its manifest names. */
export function fileLoadHandler(modelJsonPath: string): io.IOHandler {
  return {
    async load(): Promise<io.ModelArtifacts> {
      let json: {
        format?: unknown;
        modelTopology?: unknown;
        weightsManifest?: { paths?: unknown; weights?: unknown }[];
        generatedBy?: string;
        convertedBy?: string | null;
      };
      try {
        json = JSON.parse(readFileSync(modelJsonPath, 'utf8'));
      } catch (cause) {
        throw new OptoloopError('E_MODEL_INVALID', `${modelJsonPath}: cannot read the model (${(cause as Error).message})`, { stage: 'classify.model', cause, details: { file: modelJsonPath } });
      }
      if (json.format !== undefined && json.format !== 'layers-model') throw invalid(modelJsonPath, 'format', `expected "layers-model", got ${JSON.stringify(json.format)}`);
      if (typeof json.modelTopology !== 'object' || json.modelTopology === null) throw invalid(modelJsonPath, 'modelTopology', 'expected an object (a tfjs layers model)');
      if (!Array.isArray(json.weightsManifest)) throw invalid(modelJsonPath, 'weightsManifest', 'expected an array of { paths, weights }');
      const specs: io.WeightsManifestEntry[] = [];
      const buffers: ArrayBuffer[] = [];
      json.weightsManifest.forEach((group, g) => {
        if (!Array.isArray(group.paths) || !Array.isArray(group.weights)) throw invalid(modelJsonPath, `weightsManifest[${g}]`, 'expected { paths: [...], weights: [...] }');
        specs.push(...(group.weights as io.WeightsManifestEntry[]));
        for (const p of group.paths as string[]) {
          const file = join(dirname(modelJsonPath), p);
          try {
            const bytes = readFileSync(file);
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
          } catch (cause) {
            throw invalid(modelJsonPath, `weightsManifest[${g}].paths`, `cannot read ${file} (${(cause as Error).message})`);
          }
        }
      });
      const weightData = concatenate(buffers);
      const expectedBytes = specs.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1) * (w.dtype === 'float32' || w.dtype === 'int32' ? 4 : 1), 0);
      if (weightData.byteLength !== expectedBytes) {
        throw invalid(modelJsonPath, 'weightsManifest', `the weights manifest describes ${expectedBytes} bytes but the weight files hold ${weightData.byteLength}`);
      }
      return {
        modelTopology: json.modelTopology as object,
        weightSpecs: specs,
        weightData,
        format: 'layers-model',
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy ?? undefined,
      };
    },
  };
}
