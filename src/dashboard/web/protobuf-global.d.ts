/** The part of protobufjs's browser build (loaded as the global `protobuf`) that the page uses. */
export {};

declare global {
  interface ProtoType {
    encode(message: object): { finish(): Uint8Array };
    // Reflection decodes into untyped messages; the page reads known fields by name.
    decode(bytes: Uint8Array): any; // eslint-disable-line @typescript-eslint/no-explicit-any
  }
  interface ProtoRoot {
    lookupType(name: string): ProtoType;
  }
  const protobuf: {
    parse(source: string, options?: { keepCase?: boolean }): { root: ProtoRoot };
  };
}
