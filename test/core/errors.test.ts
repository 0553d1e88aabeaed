import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ERROR_CODES, OptoloopError, isOptoloopError } from '../../src/core/errors.js';
import { packageRoot } from '../../src/core/package-root.js';

test('every error code is documented in docs/errors.md, and the doc lists no other', () => {
  const doc = readFileSync(join(packageRoot(), 'docs', 'errors.md'), 'utf8');
  const documented = [...doc.matchAll(/^\| `(E_[A-Z_]+)` \|/gm)].map((m) => m[1]);
  assert.equal([...documented].sort(), [...ERROR_CODES].sort());
});

test('OptoloopError carries code, stage and details, and prints them on one line', () => {
  const error = new OptoloopError('E_FILE_TRUNCATED', 'x.bin: ends at byte 10, expected 20', { stage: 'io', details: { offset: 10 } });
  assert.ok(isOptoloopError(error, 'E_FILE_TRUNCATED'));
  assert.not.ok(isOptoloopError(error, 'E_FILE_MALFORMED'));
  assert.is(error.details.offset, 10);
  assert.is(String(error), 'E_FILE_TRUNCATED [io] x.bin: ends at byte 10, expected 20');
});

test.run();
