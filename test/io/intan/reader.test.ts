import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IntanRhdReader } from '../../../src/io/intan/reader.js';
import { artifactDir } from '../../helpers/paths.js';
import { seededRandom } from '../../helpers/seeded.js';
import { firstDifference, replayAll } from '../../helpers/replay.js';
import { expectOptoloopError } from '../../helpers/expect-error.js';
import { runSystemPython } from '../../helpers/system-python.js';

// --- The test's own .rhd encoder, from protocols.md §6. ---

class Bytes {
  private readonly out: number[] = [];
  get length(): number {
    return this.out.length;
  }
  u16(v: number): this {
    this.out.push(v & 0xff, (v >>> 8) & 0xff);
    return this;
  }
  i16(v: number): this {
    return this.u16(v & 0xffff);
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16((v >>> 16) & 0xffff);
  }
  i32(v: number): this {
    return this.u32(v >>> 0);
  }
  f32(v: number): this {
    const b = new Uint8Array(new Float32Array([v]).buffer);
    this.out.push(...b);
    return this;
  }
  qstring(s: string | null): this {
    if (s === null) return this.u32(0xffffffff);
    this.u32(s.length * 2);
    for (const ch of s) this.u16(ch.charCodeAt(0));
    return this;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

type SignalType = 0 | 1 | 2 | 3 | 4 | 5;
interface Chan {
  name: string;
  type: SignalType;
  enabled?: boolean;
}
interface Group {
  name: string;
  enabled: boolean;
  channels: Chan[];
}
interface RhdSpec {
  major: number;
  minor: number;
  sampleRate: number;
  groups: Group[];
  tempSensors?: number;
  boardMode?: number;
  blocks: number;
  firstTimestamp?: number;
  /** Timestamp added from this block on (a gap). */
  gapAtBlock?: number;
  gapSize?: number;
  seed: number;
}

/** Returns the file bytes and the amplifier samples as u16, frame-major. */
function encodeRhd(spec: RhdSpec): { bytes: Uint8Array; amplifier: Uint16Array; amplifierCount: number; headerBytes: number; blockBytes: number; timestamps: number[] } {
  const b = new Bytes();
  b.u32(0xc6912702).i16(spec.major).i16(spec.minor).f32(spec.sampleRate);
  b.i16(1).f32(1.5).f32(0.1).f32(7500).f32(1).f32(0.1).f32(7500).i16(0).f32(1000).f32(1000);
  b.qstring('note one').qstring(null).qstring('');
  const atLeast = (ma: number, mi: number) => spec.major > ma || (spec.major === ma && spec.minor >= mi);
  if (atLeast(1, 1)) b.i16(spec.tempSensors ?? 0);
  if (atLeast(1, 3)) b.i16(spec.boardMode ?? 0);
  if (spec.major > 1) b.qstring('hardware');
  b.i16(spec.groups.length);
  const enabled: Chan[] = [];
  for (const g of spec.groups) {
    b.qstring(g.name).qstring(g.name.slice(0, 1)).i16(g.enabled ? 1 : 0).i16(g.channels.length).i16(g.channels.filter((c) => c.type === 0).length);
    if (!g.enabled || g.channels.length === 0) continue;
    g.channels.forEach((c, i) => {
      b.qstring(c.name).qstring(`${c.name}-custom`).i16(i).i16(i).i16(c.type).i16(c.enabled === false ? 0 : 1).i16(i).i16(0);
      b.i16(0).i16(0).i16(0).i16(0).f32(1.2e6).f32(-45);
      if (c.enabled !== false) enabled.push(c);
    });
  }
  const headerBytes = b.length;
  const N = spec.major >= 2 ? 128 : 60;
  const count = (t: SignalType) => enabled.filter((c) => c.type === t).length;
  const nAmp = count(0);
  const next = seededRandom(spec.seed);
  const u16 = () => Math.floor(next() * 65536);
  const amplifier = new Uint16Array(spec.blocks * N * nAmp);
  const timestamps: number[] = [];
  let ts = spec.firstTimestamp ?? 0;
  for (let block = 0; block < spec.blocks; block++) {
    if (block === spec.gapAtBlock) ts += spec.gapSize ?? 0;
    for (let s = 0; s < N; s++) {
      timestamps.push(ts);
      b.i32(ts++);
    }
    for (let c = 0; c < nAmp; c++) {
      for (let s = 0; s < N; s++) {
        const v = block === 0 && s === 0 && c === 0 ? 0 : block === 0 && s === 1 && c === 0 ? 65535 : u16();
        amplifier[(block * N + s) * nAmp + c] = v;
        b.u16(v);
      }
    }
    for (let i = 0; i < count(1) * (N / 4); i++) b.u16(u16());
    for (let i = 0; i < count(2); i++) b.u16(u16());
    for (let i = 0; i < (spec.tempSensors ?? 0); i++) b.i16(2500 + i);
    for (let i = 0; i < count(3) * N; i++) b.u16(u16());
    if (count(4) > 0) for (let i = 0; i < N; i++) b.u16(u16());
    if (count(5) > 0) for (let i = 0; i < N; i++) b.u16(u16());
  }
  const bytes = b.bytes();
  return { bytes, amplifier, amplifierCount: nAmp, headerBytes, blockBytes: (bytes.length - headerBytes) / spec.blocks, timestamps };
}

function asInt16(amplifier: Uint16Array): Int16Array {
  return Int16Array.from(amplifier, (v) => v - 32768);
}

const dir = (() => {
  rmSync(artifactDir('io-intan-reader'), { recursive: true, force: true });
  return artifactDir('io-intan-reader');
})();

function rhd3Spec(): RhdSpec {
  return {
    major: 3,
    minor: 2,
    sampleRate: 20000,
    tempSensors: 0,
    boardMode: 1,
    blocks: 5,
    firstTimestamp: 1000,
    seed: 17,
    groups: [
      {
        name: 'Port A',
        enabled: true,
        channels: [
          ...Array.from({ length: 9 }, (_, i) => ({ name: `A-${String(i).padStart(3, '0')}`, type: 0 as const, enabled: i !== 4 })),
          { name: 'A-AUX1', type: 1 },
          { name: 'A-AUX2', type: 1 },
          { name: 'A-AUX3', type: 1 },
          { name: 'A-VDD1', type: 2 },
        ],
      },
      { name: 'Port B', enabled: true, channels: Array.from({ length: 5 }, (_, i) => ({ name: `B-${String(i).padStart(3, '0')}`, type: 0 as const })) },
      { name: 'Port C', enabled: false, channels: [] },
      { name: 'Board ADC', enabled: true, channels: [{ name: 'ANALOG-IN-1', type: 3 }, { name: 'ANALOG-IN-2', type: 3 }] },
      { name: 'Board Digital Inputs', enabled: true, channels: [{ name: 'DIGITAL-IN-01', type: 4 }] },
      { name: 'Board Digital Outputs', enabled: true, channels: [{ name: 'DIGITAL-OUT-01', type: 5 }] },
    ],
  };
}

test('RHD 3.2 with every signal type: 13 amplifier channels (one disabled) replay as int16 u16−32768 at 0.195 µV, several block sizes', async () => {
  const encoded = encodeRhd(rhd3Spec());
  const path = join(dir, 'v3.rhd');
  writeFileSync(path, encoded.bytes);
  const expected = asInt16(encoded.amplifier);
  for (const blockFrames of [1, 30, 128, 200, 1000]) {
    const reader = new IntanRhdReader(path);
    assert.is(reader.info.channelCount, 13);
    assert.is(reader.info.totalFrames, 5 * 128);
    assert.is(reader.header.headerBytes, encoded.headerBytes);
    assert.is(reader.header.bytesPerBlock, encoded.blockBytes);
    const { blocks, samples } = await replayAll(reader, blockFrames);
    assert.is(firstDifference(samples, expected), -1, `block size ${blockFrames}`);
    assert.is(samples[0], -32768);
    assert.is(samples[13], 32767);
    assert.is(blocks[0].firstSampleIndex, 1000);
    assert.is(blocks[blocks.length - 1].firstSampleIndex, 1000 + (blocks.length - 1) * blockFrames);
  }
  const reader = new IntanRhdReader(path);
  assert.equal(reader.info.channelNames.slice(0, 5), ['A-000-custom', 'A-001-custom', 'A-002-custom', 'A-003-custom', 'A-005-custom']);
  assert.is(reader.info.uvPerCount![12], Math.fround(0.195));
  assert.is(reader.info.sampleRateHz, 20000);
  assert.equal(reader.header.counts, { amplifier: 13, aux: 3, supply: 1, adc: 2, 'digital-in': 1, 'digital-out': 1 });
  reader.close();
});

test('python-neo (an independent reader) sees the same amplifier samples in the test-encoded file', () => {
  const spec = { ...rhd3Spec(), major: 2, minor: 0 };
  const encoded = encodeRhd(spec);
  const path = join(dir, 'neo-v2.rhd');
  writeFileSync(path, encoded.bytes);
  const neo = runSystemPython(
    `
import json, sys, numpy as np
import neo
r = neo.rawio.IntanRawIO(sys.argv[1]); r.parse_header()
ch = r.header['signal_channels']
idx = [i for i, s in enumerate(r.header['signal_streams']) if s['id'] == '0'][0]
raw = r.get_analogsignal_chunk(0, 0, None, None, idx)
print(json.dumps({"names": [str(n) for n in ch[ch['stream_id'] == '0']['name']], "gain": float(ch[ch['stream_id'] == '0']['gain'][0]), "offset": float(ch[ch['stream_id'] == '0']['offset'][0]), "samples": raw.astype(np.int64).ravel().tolist()}))
`,
    [path],
  ) as { names: string[]; gain: number; offset: number; samples: number[] };
  assert.is(neo.names.length, 13);
  assert.is(neo.gain, 0.195);
  assert.is(neo.offset, -32768 * 0.195);
  assert.equal(neo.samples, Array.from(encoded.amplifier));
});

test('RHD 1.1 (60 samples per block, u32 timestamps, temperature sensors) and 1.0', async () => {
  for (const [minor, temp] of [[1, 2], [0, 0]] as const) {
    const encoded = encodeRhd({
      major: 1,
      minor,
      sampleRate: 25000,
      tempSensors: temp,
      blocks: 3,
      seed: 5 + minor,
      groups: [{ name: 'Port A', enabled: true, channels: [{ name: 'A-000', type: 0 }, { name: 'A-001', type: 0 }, { name: 'A-002', type: 0 }, { name: 'A-AUX1', type: 1 }] }],
    });
    const path = join(dir, `v1.${minor}.rhd`);
    writeFileSync(path, encoded.bytes);
    const reader = new IntanRhdReader(path);
    assert.is(reader.header.samplesPerBlock, 60);
    assert.is(reader.header.timestampsSigned, false);
    assert.is(reader.header.tempSensorCount, temp);
    assert.is(reader.info.totalFrames, 180);
    assert.is(firstDifference((await replayAll(reader, 45)).samples, asInt16(encoded.amplifier)), -1, `1.${minor}`);
  }
});

test('a triggered recording starting at a negative timestamp: indices shifted to start at 0, device timestamps raw', async () => {
  const encoded = encodeRhd({ ...rhd3Spec(), firstTimestamp: -200, blocks: 2 });
  const path = join(dir, 'negative.rhd');
  writeFileSync(path, encoded.bytes);
  const reader = new IntanRhdReader(path);
  assert.is(reader.firstSampleIndex, 0);
  assert.match(reader.notes.join('\n'), 'timestamps start at -200');
  const { blocks } = await replayAll(reader, 100);
  assert.equal(blocks.map((b) => [b.firstSampleIndex, b.deviceTimestamp]), [[0, -200], [100, -100], [200, 0]]);
});

test('a gap in the timestamps ends a block and is counted dropped', async () => {
  const encoded = encodeRhd({ ...rhd3Spec(), gapAtBlock: 2, gapSize: 640 });
  const path = join(dir, 'gap.rhd');
  writeFileSync(path, encoded.bytes);
  const { blocks, samples, source } = await replayAll(new IntanRhdReader(path), 100);
  assert.is(firstDifference(samples, asInt16(encoded.amplifier)), -1);
  // Frames 0…255 then 256… at timestamp 1000 + 256 + 640.
  assert.equal(blocks.slice(2, 4).map((b) => [b.firstSampleIndex, b.frameCount]), [[1200, 56], [1000 + 256 + 640, 100]]);
  assert.is(source.counters.framesDropped, 640);
  assert.is(source.counters.blocksDropped, 1);
});

test('corrupt files fail naming the file, the field, the byte offset and what was expected', () => {
  const good = encodeRhd(rhd3Spec());
  const write = (name: string, bytes: Uint8Array) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  };
  const magic = good.bytes.slice();
  magic[0] = 0x00;
  expectOptoloopError(() => new IntanRhdReader(write('magic.rhd', magic)), 'E_FILE_MALFORMED', 'magic.rhd', 'magic number', 'at byte 0', '0xc6912702', '0xc6912700');

  const rhs = good.bytes.slice();
  rhs.set([0xac, 0x27, 0x91, 0xd6], 0);
  expectOptoloopError(() => new IntanRhdReader(write('stim.rhd', rhs)), 'E_FILE_UNSUPPORTED', 'RHS stimulation-controller');

  // The header cut inside note1's text (note1's length is at byte 48, its text at 52).
  expectOptoloopError(() => new IntanRhdReader(write('cut.rhd', good.bytes.subarray(0, 63))), 'E_FILE_TRUNCATED', 'cut.rhd', 'header field note1 (16 bytes of UTF-16 text)', 'at byte 52', 'expected 16 bytes', 'got 11 before the end of the file');
  expectOptoloopError(() => new IntanRhdReader(write('cut2.rhd', good.bytes.subarray(0, 3))), 'E_FILE_TRUNCATED', 'magic number', 'at byte 0');

  const partial = write('partial.rhd', good.bytes.subarray(0, good.headerBytes + 2 * good.blockBytes + 100));
  expectOptoloopError(
    () => new IntanRhdReader(partial),
    'E_FILE_TRUNCATED',
    'partial.rhd',
    `data block 2 at byte ${good.headerBytes + 2 * good.blockBytes}`,
    `whole data blocks of ${good.blockBytes} bytes (128 samples, 13 amplifier channels) after the ${good.headerBytes}-byte header`,
    'got 100 bytes of a partial block',
  );

  const odd = good.bytes.slice();
  new DataView(odd.buffer).setUint32(48, 15, true);
  expectOptoloopError(() => new IntanRhdReader(write('odd.rhd', odd)), 'E_FILE_MALFORMED', 'note1', 'at byte 48', 'an even QString byte length', 'got 15');

  const version = good.bytes.slice();
  new DataView(version.buffer).setInt16(4, 7, true);
  expectOptoloopError(() => new IntanRhdReader(write('version.rhd', version)), 'E_FILE_UNSUPPORTED', 'version', 'RHD format version 1.x, 2.x or 3.x', 'got 7.2');
});

test.run();
