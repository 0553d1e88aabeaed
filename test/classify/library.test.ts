import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendToLibrary, readLibrary, validateLibrary, type LibraryUnitInput } from '../../src/classify/library.js';
import { isOptoloopError } from '../../src/core/errors.js';
import { artifactDir } from '../helpers/paths.js';

const dir = artifactDir('classify-library');
const unit = (id: string, over: Partial<LibraryUnitInput> = {}): LibraryUnitInput => ({
  id,
  label: 'PV',
  waveformUv: [0, -50, -100, -20, 30, 10],
  waveformSampleRateHz: 30000,
  spikeTimesS: [0.1, 0.5, 0.51, 2],
  ...over,
});

function expectError(fn: () => unknown, code: string, message: string | RegExp): void {
  try {
    fn();
    assert.unreachable('expected an error');
  } catch (error) {
    assert.ok(isOptoloopError(error), String(error));
    assert.is((error as { code: string }).code, code);
    assert.match((error as Error).message, message);
  }
}

test('append creates the file, appends, and reads back with optional fields defaulted', () => {
  const path = join(dir, 'lib.json');
  rmSync(path, { force: true });
  appendToLibrary(path, [unit('a')]);
  const lib = appendToLibrary(path, [unit('b', { label: 'SST', layer: 'L5', waveformsUv: [[1, 2, 3, 4, 5, 6], [0, 0, 1, 0, 0, 0]], channelPositionsUm: [[0, 0], [16, 20]] })]);
  assert.is(lib.units.length, 2);
  const back = readLibrary(path);
  assert.equal(back.units.map((u) => [u.id, u.label]), [['a', 'PV'], ['b', 'SST']]);
  assert.is(back.units[0].layer, null);
  assert.is(back.units[1].waveformsUv!.length, 2);
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).units[1].channelPositionsUm, [[0, 0], [16, 20]]);
});

test('ids are unique: a duplicate is refused unless replacing', () => {
  const path = join(dir, 'dup.json');
  rmSync(path, { force: true });
  appendToLibrary(path, [unit('x')]);
  expectError(() => appendToLibrary(path, [unit('x')]), 'E_FILE_WRITE', 'a unit with id "x" is already in the library');
  appendToLibrary(path, [unit('x', { label: 'VIP' })], { replace: true });
  assert.equal(readLibrary(path).units.map((u) => u.label), ['VIP']);
  expectError(() => validateLibrary({ units: [unit('y'), unit('y')] }, 'doc'), 'E_FILE_MALFORMED', 'units[1].id: expected a unique id, got "y" (also units[0])');
});

test('malformed libraries are refused with the path of each problem', () => {
  expectError(() => validateLibrary({ units: [unit('a', { spikeTimesS: [1, 0.5] })] }, 'lib.json'), 'E_FILE_MALFORMED', 'units[0].spikeTimesS[1]: expected times in ascending order');
  expectError(() => validateLibrary({ units: [unit('a', { waveformsUv: [[1, 2]] })] }, 'lib.json'), 'E_FILE_MALFORMED', 'units[0].waveformsUv[0]: expected 6 samples like waveformUv, got 2');
  expectError(() => validateLibrary({ units: [{ id: 'a', label: 'PV' }] }, 'lib.json'), 'E_FILE_MALFORMED', 'units[0].waveformUv: missing');
  expectError(() => validateLibrary({ units: [unit('a', { waveformPeakIndex: 6 })] }, 'lib.json'), 'E_FILE_MALFORMED', 'waveformPeakIndex: expected an index below the waveform length (6), got 6');
  expectError(() => validateLibrary({ unit: [] }, 'lib.json'), 'E_FILE_MALFORMED', 'unknown key (did you mean "units"?)');
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{ "units": [ ');
  expectError(() => readLibrary(bad), 'E_FILE_MALFORMED', /bad\.json: not JSON/);
  expectError(() => readLibrary(join(dir, 'missing.json')), 'E_FILE_NOT_FOUND', 'cannot read the unit library');
  // A failed append leaves the existing library untouched.
  const path = join(dir, 'keep.json');
  rmSync(path, { force: true });
  appendToLibrary(path, [unit('k')]);
  const before = readFileSync(path, 'utf8');
  expectError(() => appendToLibrary(path, [unit('k2', { waveformSampleRateHz: -1 })]), 'E_FILE_MALFORMED', 'waveformSampleRateHz');
  assert.is(readFileSync(path, 'utf8'), before);
});

test.run();
