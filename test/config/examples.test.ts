// Every rig config shipped in config/ validates against the schema (the examples are documentation
// a rig operator copies: they must not rot).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadRigConfig } from '../../src/config/load.js';
import { packageRoot } from '../../src/core/package-root.js';
import { resolveModelDirectory } from '../../src/classify/model/model-path.js';

function configs(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return configs(full);
    return /\.(ya?ml|json)$/.test(name) && name !== 'schema.json' ? [full] : [];
  });
}

const files = configs(join(packageRoot(), 'config'));

test('there are examples for the simulator and for each kind of device source', () => {
  const kinds = new Set(files.map((f) => loadRigConfig(f).source.kind));
  for (const kind of ['sim', 'file', 'intan-rhx', 'spikeglx-remote', 'openbci', 'usb-bridge']) assert.ok(kinds.has(kind as never), kind);
});

for (const file of files) {
  test(`${file.slice(packageRoot().length + 1)} validates`, () => {
    const config = loadRigConfig(file);
    assert.ok(config.rig.length > 0);
    // A model named in an example must be found when the daemon starts (a shipped name or a folder).
    if (config.classifier.model) resolveModelDirectory(config.classifier.model);
  });
}

test.run();
