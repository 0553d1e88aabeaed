import * as assert from 'uvu/assert';
import { isOptoloopError } from '../../src/core/errors.js';

/** Runs fn, expects an OptoloopError with `code` whose message contains every fragment. */
export function expectOptoloopError(fn: () => unknown, code: string, ...fragments: (string | RegExp)[]): Error {
  try {
    fn();
  } catch (error) {
    return checkOptoloopError(error, code, fragments);
  }
  assert.unreachable(`expected ${code}`);
  throw new Error('unreachable');
}

/** The same for a promise. */
export async function expectRejection(promise: Promise<unknown>, code: string, ...fragments: (string | RegExp)[]): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return checkOptoloopError(error, code, fragments);
  }
  assert.unreachable(`expected ${code}`);
  throw new Error('unreachable');
}

function checkOptoloopError(error: unknown, code: string, fragments: (string | RegExp)[]): Error {
  assert.ok(isOptoloopError(error), `expected an OptoloopError, got ${String(error)}`);
  assert.is((error as { code: string }).code, code, (error as Error).message);
  for (const f of fragments) assert.match((error as Error).message, f);
  return error as Error;
}
