/**
 * The bus's protobuf types, loaded at run time from `optoloop.proto` (protobufjs reflection, which
 * compiles an encoder and decoder per type on first use). One load per process.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { packageRoot } from '../core/package-root.js';

export const PROTO_PACKAGE = 'optoloop.bus.v1';

/** Where the schema lives: `src/bus/optoloop.proto` in the package, whether running from src or dist. */
export function protoPath(): string {
  return join(packageRoot(), 'src', 'bus', 'optoloop.proto');
}

export interface BusTypes {
  readonly root: protobuf.Root;
  readonly ClientMessage: protobuf.Type;
  readonly ServerMessage: protobuf.Type;
  readonly BusError: protobuf.Type;
  readonly SpikeBatch: protobuf.Type;
  readonly UnitUpdate: protobuf.Type;
  readonly StimulusEvent: protobuf.Type;
  readonly BciOutput: protobuf.Type;
  readonly Status: protobuf.Type;
}

let cached: BusTypes | null = null;

export function busTypes(): BusTypes {
  if (cached) return cached;
  const root = protobuf.parse(readFileSync(protoPath(), 'utf8'), { keepCase: false }).root;
  const t = (name: string) => root.lookupType(`${PROTO_PACKAGE}.${name}`);
  cached = {
    root,
    ClientMessage: t('ClientMessage'),
    ServerMessage: t('ServerMessage'),
    BusError: t('BusError'),
    SpikeBatch: t('SpikeBatch'),
    UnitUpdate: t('UnitUpdate'),
    StimulusEvent: t('StimulusEvent'),
    BciOutput: t('BciOutput'),
    Status: t('Status'),
  };
  return cached;
}
