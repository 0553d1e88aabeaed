// The slice of the WebAssembly JS API that optoloop uses. TypeScript ships these declarations only
// in lib.dom, which would also pretend that browser globals exist in Node; @types/node 20 has none.
declare namespace WebAssembly {
  type ImportValue = ((...args: any[]) => unknown) | Memory | number;
  type Imports = Record<string, Record<string, ImportValue>>;
  type Exports = Record<string, unknown>;
  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
  }
  class Instance {
    constructor(module: Module, imports?: Imports);
    readonly exports: Exports;
  }
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }
  class Memory {
    constructor(descriptor: MemoryDescriptor);
    readonly buffer: ArrayBuffer;
    grow(deltaPages: number): number;
  }
  function validate(bytes: ArrayBufferView | ArrayBuffer): boolean;
}
