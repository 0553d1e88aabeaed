// Writes what is derived from the code, so that it is never written twice by hand:
//   docs/cli/<command>.md   from each command's --help text
//   config/schema.json      from the rig config schema
// `npm run docs` runs it; test/docs.test.ts fails when the committed files are stale.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderCliPages, renderConfigSchema } from '../src/cli/docs.js';
import { packageRoot } from '../src/core/package-root.js';

const root = packageRoot();
mkdirSync(join(root, 'docs', 'cli'), { recursive: true });
for (const [name, text] of renderCliPages()) writeFileSync(join(root, 'docs', 'cli', `${name}.md`), text);
writeFileSync(join(root, 'config', 'schema.json'), renderConfigSchema());
console.log('gen-docs: docs/cli/*.md and config/schema.json written');
