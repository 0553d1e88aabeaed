import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderCliPages, renderConfigSchema } from '../src/cli/docs.js';
import { packageRoot } from '../src/core/package-root.js';

const root = packageRoot();

test('docs/cli pages match the commands\' --help (run npm run docs)', () => {
  for (const [name, text] of renderCliPages()) {
    assert.fixture(readFileSync(join(root, 'docs', 'cli', `${name}.md`), 'utf8'), text, `docs/cli/${name}.md is stale: run npm run docs`);
  }
});

test('config/schema.json matches the schema (run npm run docs)', () => {
  assert.fixture(readFileSync(join(root, 'config', 'schema.json'), 'utf8'), renderConfigSchema(), 'config/schema.json is stale: run npm run docs');
});

test('the README links a page for every command', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  for (const [name] of renderCliPages()) if (name !== 'index') assert.ok(readme.includes(`docs/cli/${name}.md`), `README links docs/cli/${name}.md`);
});

test.run();
