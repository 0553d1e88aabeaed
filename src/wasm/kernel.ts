import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OptoloopError } from '../core/errors.js';
import { packageRoot } from '../core/package-root.js';

const modules = new Map<string, WebAssembly.Module>();

/** Compiles (once per process) the kernel `build/wasm/<name>.wasm` built by `npm run build:wasm`. */
export function wasmModule(name: string): WebAssembly.Module {
  let module = modules.get(name);
  if (!module) {
    const path = join(packageRoot(), 'build', 'wasm', `${name}.wasm`);
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (cause) {
      throw new OptoloopError('E_INTERNAL', `${path}: WebAssembly kernel missing; run "npm run build" first`, { cause });
    }
    module = new WebAssembly.Module(bytes);
    modules.set(name, module);
  }
  return module;
}

/** Bytes below this offset belong to the kernel's own static data; the arena starts above it. */
export const ARENA_BASE = 65536;
const PAGE = 65536;

/**
 * One private instance of a kernel with a bump allocator over its linear memory. A pipeline stage
 * creates one per subscription (state per subscription), allocates its buffers at set-up, and takes
 * typed-array views after the last allocation: growing memory detaches earlier views, so
 * `generation` tells a stage when its views must be taken again.
 */
export class WasmArena<E extends object> {
  readonly exports: E;
  private readonly memory: WebAssembly.Memory;
  private top = ARENA_BASE;
  generation = 0;

  constructor(name: string) {
    const instance = new WebAssembly.Instance(wasmModule(name), {
      env: {
        abort: (_message: number, _file: number, line: number, column: number) => {
          throw new OptoloopError('E_INTERNAL', `WebAssembly kernel ${name} aborted at ${line}:${column}`);
        },
      },
    });
    this.exports = instance.exports as unknown as E;
    this.memory = (instance.exports as { memory: WebAssembly.Memory }).memory;
  }

  /** Reserves `bytes` (16-byte aligned for SIMD) and returns the offset. May grow memory. */
  alloc(bytes: number): number {
    const ptr = (this.top + 15) & ~15;
    this.top = ptr + bytes;
    const needed = this.top - this.memory.buffer.byteLength;
    if (needed > 0) {
      this.memory.grow(Math.ceil(needed / PAGE));
      this.generation++;
    }
    return ptr;
  }

  /** Forgets every allocation: the stage re-plans its buffers (e.g. when a block larger than planned arrives). */
  reset(): void {
    this.top = ARENA_BASE;
  }

  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }
  f64(ptr: number, length: number): Float64Array {
    return new Float64Array(this.memory.buffer, ptr, length);
  }
  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, length);
  }
  i16(ptr: number, length: number): Int16Array {
    return new Int16Array(this.memory.buffer, ptr, length);
  }
  u32(ptr: number, length: number): Uint32Array {
    return new Uint32Array(this.memory.buffer, ptr, length);
  }
  u16(ptr: number, length: number): Uint16Array {
    return new Uint16Array(this.memory.buffer, ptr, length);
  }
}
