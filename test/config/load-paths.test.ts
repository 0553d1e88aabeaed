// Paths in a rig config are relative to the config file; a bare model name is a shipped model
// unless a folder of that name sits beside the config.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadRigConfig } from '../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'optoloop-config-paths-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function load(body: string) {
  const file = join(dir, `rig-${files++}.yaml`);
  writeFileSync(file, `rig: paths\nsource:\n  kind: sim\n${body}`);
  return loadRigConfig(file);
}

test('a bare model name stays a name (the loader looks it up among the shipped models)', () => {
  assert.is(load('classifier:\n  model: cortex\n').classifier.model, 'cortex');
});

test('a bare model name that is a folder beside the config is that folder', () => {
  mkdirSync(join(dir, 'my-model'));
  assert.is(load('classifier:\n  model: my-model\n').classifier.model, join(dir, 'my-model'));
});

test('a relative model path and other path keys resolve against the config folder', () => {
  const config = load('classifier:\n  model: ./models/x\n  templates: ks/out\n');
  assert.is(config.classifier.model, join(dir, 'models', 'x'));
  assert.is(config.classifier.templates, join(dir, 'ks', 'out'));
});

test.run();
