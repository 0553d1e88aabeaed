import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as s from '../../src/config/schema.js';
import { validateRigConfig } from '../../src/config/load.js';
import { isOptoloopError } from '../../src/core/errors.js';

const schema = s.object({
  name: s.string({ minLength: 1 }),
  gain: s.number({ above: 0, default: 2 }),
  mode: s.oneOf(['a', 'b'] as const, { default: 'a' }),
  nested: s.object({ thresholdUv: s.number({ below: 0, default: -50 }) }),
  items: s.array(s.number({ integer: true, min: 0 }), { default: [] }),
});

test('fills defaults, including nested objects', () => {
  const r = s.validate(schema, { name: 'x' });
  assert.ok(r.ok);
  if (r.ok) assert.equal(r.value, { name: 'x', gain: 2, mode: 'a', nested: { thresholdUv: -50 }, items: [] });
});

test('names the path, what was expected and what was got', () => {
  const r = s.validate(schema, { name: 'x', nested: { thresholdUv: 50 } });
  assert.not.ok(r.ok);
  if (!r.ok) assert.equal(r.issues, [{ path: 'nested.thresholdUv', message: 'expected a negative number, got 50' }]);
});

test('rejects unknown keys and suggests the near one', () => {
  const r = s.validate(schema, { name: 'x', gian: 3 });
  assert.not.ok(r.ok);
  if (!r.ok) {
    assert.is(r.issues[0].path, 'gian');
    assert.match(r.issues[0].message, 'did you mean "gain"?');
  }
});

test('reports a missing required field and array items by index', () => {
  const r = s.validate(schema, { items: [1, -2, 3.5] });
  assert.not.ok(r.ok);
  if (!r.ok) {
    const paths = r.issues.map((i) => i.path);
    assert.equal(paths, ['name', 'items[1]', 'items[2]']);
    assert.match(r.issues[1].message, 'expected an integer ≥ 0, got -2');
  }
});

test('the rig config: the issue example message, verbatim', () => {
  try {
    validateRigConfig({ source: { kind: 'sim' }, pipeline: { detect: { thresholdUv: 50 } } }, 'rig.yaml');
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_CONFIG_INVALID'));
    assert.match((error as Error).message, 'pipeline.detect.thresholdUv: expected a negative number, got 50');
  }
});

test('the rig config: a tagged source reports the bad tag and lists the variants', () => {
  try {
    validateRigConfig({ source: { kind: 'nope' } }, 'rig.yaml');
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.match((error as Error).message, 'source.kind: expected one of "file", "sim", "intan-rhx", "spikeglx-remote", "openbci", "usb-bridge", got "nope"');
  }
});

test('the rig config: cross-field check on the band-pass corners', () => {
  try {
    validateRigConfig({ source: { kind: 'sim' }, pipeline: { bandpass: { lowHz: 7000, highHz: 6000 } } }, 'rig.yaml');
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.match((error as Error).message, 'pipeline.bandpass.highHz: expected a number above lowHz (7000), got 6000');
  }
});

test('JSON schema: unknown keys forbidden, defaults and bounds carried', () => {
  const json = schema.jsonSchema() as { additionalProperties: boolean; properties: Record<string, Record<string, unknown>>; required: string[] };
  assert.is(json.additionalProperties, false);
  assert.equal(json.required, ['name']);
  assert.is(json.properties.gain.default, 2);
  assert.is(json.properties.gain.exclusiveMinimum, 0);
});

test.run();
