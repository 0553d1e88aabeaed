import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeNpy,
  encodeNpyHeader,
  NPY_DTYPES,
  npyToFloat64,
  readNpy,
  readNpyHeader,
  writeNpy,
  type NpyDtype,
  type NpyTypedArray,
} from '../../src/io/npy.js';
import { NpyAppendWriter } from '../../src/io/npy-append-writer.js';
import { expectOptoloopError } from '../helpers/expect-error.js';
import { artifactDir, sharedData } from '../helpers/paths.js';
import { runSystemPython } from '../helpers/system-python.js';

const dir = artifactDir('io-npy');

/** Values that exercise each dtype's extremes, as plain numbers/bigints. */
function sampleArray(dtype: NpyDtype, n: number): NpyTypedArray {
  switch (dtype) {
    case 'int8': return Int8Array.from({ length: n }, (_, i) => (i % 2 ? -128 : 127) - (i % 7));
    case 'uint8': return Uint8Array.from({ length: n }, (_, i) => (i * 37) % 256);
    case 'int16': return Int16Array.from({ length: n }, (_, i) => (i === 0 ? -32768 : i === 1 ? 32767 : (i * 4099) % 65536 - 32768));
    case 'uint16': return Uint16Array.from({ length: n }, (_, i) => (i === 0 ? 65535 : (i * 7919) % 65536));
    case 'int32': return Int32Array.from({ length: n }, (_, i) => (i === 0 ? -2147483648 : i * 104729 - 1e6));
    case 'uint32': return Uint32Array.from({ length: n }, (_, i) => (i === 0 ? 4294967295 : i * 104729));
    case 'int64': return BigInt64Array.from({ length: n }, (_, i) => (i === 0 ? -(2n ** 63n) : i === 1 ? 2n ** 63n - 1n : BigInt(i) * 1234567890123n - 5n));
    case 'uint64': return BigUint64Array.from({ length: n }, (_, i) => (i === 0 ? 2n ** 64n - 1n : BigInt(i) * 9876543210987n));
    case 'float32': return Float32Array.from({ length: n }, (_, i) => (i === 0 ? -0.5 : Math.fround(Math.sin(i) * 1e3)));
    case 'float64': return Float64Array.from({ length: n }, (_, i) => (i === 0 ? Number.MIN_VALUE : Math.sin(i) * 1e300));
  }
}

test('every dtype round-trips through writeNpy/readNpy, 1-D and 2-D', () => {
  for (const dtype of NPY_DTYPES) {
    for (const shape of [[7], [3, 5], [0]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = sampleArray(dtype, n);
      const path = join(dir, `rt-${dtype}-${shape.join('x')}.npy`);
      writeNpy(path, data, shape);
      const back = readNpy(path);
      assert.is(back.dtype, dtype);
      assert.equal([...back.shape], shape);
      assert.equal(Array.from(back.data as ArrayLike<unknown>), Array.from(data as ArrayLike<unknown>), `${dtype} ${shape}`);
      // The data starts on a 64-byte boundary, as NumPy writes it.
      assert.is(readNpyHeader(path).dataOffset % 64, 0);
    }
  }
});

test('numpy reads what we write, and we read what numpy writes (every dtype, header v1 and v2)', () => {
  for (const dtype of NPY_DTYPES) writeNpy(join(dir, `ours-${dtype}.npy`), sampleArray(dtype, 6), [2, 3]);
  const result = runSystemPython(
    `
import json, sys, numpy as np
d = sys.argv[1]
names = ${JSON.stringify(NPY_DTYPES)}
out = {}
for name in names:
    a = np.load(f"{d}/ours-{name}.npy")
    out[name] = {"dtype": str(a.dtype), "shape": list(a.shape), "values": [str(v) for v in a.ravel()]}
    b = (np.arange(12).reshape(3, 4) * 3 - 7).astype(name)
    np.save(f"{d}/theirs-{name}.npy", b)
    np.lib.format.write_array(open(f"{d}/theirs-v2-{name}.npy", "wb"), b, version=(2, 0))
print(json.dumps(out))
`,
    [dir],
  ) as Record<string, { dtype: string; shape: number[]; values: string[] }>;
  for (const dtype of NPY_DTYPES) {
    assert.is(result[dtype].dtype, dtype);
    assert.equal(result[dtype].shape, [2, 3]);
    const ours = Array.from(sampleArray(dtype, 6) as ArrayLike<number | bigint>);
    const theirs = result[dtype].values.map((v) =>
      dtype.includes('64') && dtype !== 'float64' ? BigInt(v) : dtype === 'float32' ? Math.fround(Number(v)) : Number(v),
    );
    assert.equal(theirs, ours, dtype);
    for (const prefix of ['theirs', 'theirs-v2']) {
      const back = readNpy(join(dir, `${prefix}-${dtype}.npy`));
      assert.equal([...back.shape], [3, 4]);
      const values = Array.from(npyToFloat64(back.data));
      const expected = Array.from({ length: 12 }, (_, i) => i * 3 - 7);
      // Unsigned dtypes wrap the negatives the way numpy's astype does.
      const wrap = (v: number) => (dtype.startsWith('uint') && v < 0 ? v + 2 ** Number(dtype.slice(4)) : v);
      assert.equal(values, expected.map(wrap), `${prefix} ${dtype}`);
    }
    assert.is(readNpyHeader(join(dir, `theirs-v2-${dtype}.npy`)).version, '2.0');
  }
});

test('the real WaveMAP full_data.npy: float64 625×48, values as numpy reads them', () => {
  const path = sharedData('wavemap-pmd', 'full_data.npy');
  const array = readNpy(path);
  assert.is(array.dtype, 'float64');
  assert.equal([...array.shape], [625, 48]);
  const expected = runSystemPython(
    `import json, sys, numpy as np; a = np.load(sys.argv[1]); print(json.dumps({"first": a[0, :5].tolist(), "last": float(a[624, 47]), "sum": float(a.sum()), "row300": a[300].tolist()}))`,
    [path],
  ) as { first: number[]; last: number; sum: number; row300: number[] };
  const data = array.data as Float64Array;
  assert.equal(Array.from(data.subarray(0, 5)), expected.first);
  assert.is(data[624 * 48 + 47], expected.last);
  assert.equal(Array.from(data.subarray(300 * 48, 301 * 48)), expected.row300);
  let sum = 0;
  for (const v of data) sum += v;
  assert.ok(Math.abs(sum - expected.sum) < 1e-9 * Math.abs(expected.sum));
});

test('corrupt and unsupported files fail naming the file, the field and what was expected', () => {
  const good = readFileSync(sharedData('wavemap-pmd', 'full_data.npy'));

  const truncated = join(dir, 'truncated.npy');
  writeFileSync(truncated, good.subarray(0, good.length - 10));
  expectOptoloopError(() => readNpy(truncated), 'E_FILE_TRUNCATED', truncated, 'data', '240000 bytes', 'shape (625, 48)', '239990 bytes');

  const magic = join(dir, 'magic.npy');
  writeFileSync(magic, Buffer.concat([Buffer.from('PK\x03\x04'), good.subarray(4)]));
  expectOptoloopError(() => readNpy(magic), 'E_FILE_MALFORMED', magic, 'magic', 'at byte 0', '\\x93NUMPY', '50 4b 03 04');

  const cut = join(dir, 'header-cut.npy');
  writeFileSync(cut, good.subarray(0, 40));
  expectOptoloopError(() => readNpy(cut), 'E_FILE_TRUNCATED', cut, 'header', 'ending at byte 128', '40 bytes');

  const fortran = join(dir, 'fortran.npy');
  writeFileSync(fortran, Buffer.from(good.toString('latin1').replace("'fortran_order': False", "'fortran_order': True "), 'latin1'));
  expectOptoloopError(() => readNpy(fortran), 'E_FILE_UNSUPPORTED', fortran, 'fortran_order', 'C order');

  const big = join(dir, 'big-endian.npy');
  writeFileSync(big, Buffer.from(good.toString('latin1').replace("'<f8'", "'>f8'"), 'latin1'));
  expectOptoloopError(() => readNpy(big), 'E_FILE_UNSUPPORTED', big, 'descr', 'big-endian', '">f8"');

  const complex = join(dir, 'complex.npy');
  writeFileSync(complex, Buffer.from(good.toString('latin1').replace("'<f8'", "'<c8'"), 'latin1'));
  expectOptoloopError(() => readNpy(complex), 'E_FILE_UNSUPPORTED', 'descr', '"<c8"', '"<f8"');

  const garbage = join(dir, 'garbage-header.npy');
  writeFileSync(garbage, Buffer.from(good.toString('latin1').replace("'shape': (625, 48)", "'shape': [625, 48]"), 'latin1'));
  expectOptoloopError(() => readNpy(garbage), 'E_FILE_MALFORMED', 'shape', 'a tuple of non-negative integers', '[625, 48]');

  expectOptoloopError(() => readNpy(join(dir, 'absent.npy')), 'E_FILE_NOT_FOUND', 'absent.npy', 'ENOENT');
  expectOptoloopError(() => decodeNpy(new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 9, 0, 0, 0]), 'mem'), 'E_FILE_UNSUPPORTED', 'version', '9.0');
});

test('a header announcing more than 4 KiB is read whole', () => {
  const header = encodeNpyHeader('int16', [3], 8192);
  assert.is(header.length, 8192);
  const path = join(dir, 'long-header.npy');
  writeFileSync(path, Buffer.concat([header, Buffer.from(new Int16Array([1, -2, 3]).buffer)]));
  assert.equal(Array.from(readNpy(path).data as Int16Array), [1, -2, 3]);
  assert.is(readNpyHeader(path).dataOffset, 8192);
});

test('NpyAppendWriter: rows in order, 2-D rows, header always counts the rows on disk', () => {
  const path = join(dir, 'append.npy');
  const writer = new NpyAppendWriter(path, 'int64', { bufferBytes: 64 });
  for (let i = 0; i < 20; i++) writer.appendNumber(i * 2 ** 40 - 3);
  assert.is(writer.rows, 20);
  // 64-byte buffer = 8 int64: two spills happened, the header says 16.
  assert.is(readNpy(path).shape[0], 16);
  writer.close();
  assert.equal(Array.from(readNpy(path).data as BigInt64Array), Array.from({ length: 20 }, (_, i) => BigInt(i * 2 ** 40 - 3)));

  const wave = join(dir, 'append-2d.npy');
  const w2 = new NpyAppendWriter(wave, 'int16', { rowShape: [2, 3], bufferBytes: 24 });
  w2.appendItems(Int16Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
  w2.appendItems(Int16Array.from([-1, -2, -3, -4, -5, -6]));
  w2.close();
  const back = readNpy(wave);
  assert.equal([...back.shape], [3, 2, 3]);
  assert.equal(Array.from(back.data as Int16Array), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, -1, -2, -3, -4, -5, -6]);
  assert.throws(() => new NpyAppendWriter(join(dir, 'x.npy'), 'int16', { rowShape: [2] }).appendItems(Int16Array.from([1, 2, 3])), /whole rows of 2/);
});

test('NpyAppendWriter killed with SIGKILL leaves a file numpy reads up to the last flush', () => {
  const path = join(dir, 'killed.npy');
  const script = `
    import { NpyAppendWriter } from ${JSON.stringify(new URL('../../src/io/npy-append-writer.ts', import.meta.url).href)};
    const w = new NpyAppendWriter(${JSON.stringify(path)}, 'float64', { bufferBytes: 1 << 20 });
    for (let i = 0; i < 1000; i++) w.appendNumber(i / 8);
    w.flush();
    for (let i = 1000; i < 1500; i++) w.appendNumber(i / 8);
    process.kill(process.pid, 'SIGKILL');
  `;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.is(child.signal, 'SIGKILL', child.stderr);
  const ours = readNpy(path);
  assert.equal([...ours.shape], [1000]);
  const numpy = runSystemPython(`import json, sys, numpy as np; a = np.load(sys.argv[1]); print(json.dumps({"n": len(a), "last": float(a[-1])}))`, [path]) as { n: number; last: number };
  assert.equal(numpy, { n: 1000, last: 999 / 8 });
});

test.run();
