// Compiles the AssemblyScript kernels (src/**/assembly/<name>.ts, sim/**/assembly/<name>.ts) to build/wasm/<name>.wasm.
// Kernels are plain functions over linear memory: SIMD on, no GC runtime, no asserts in the hot loop.
import { readdirSync, mkdirSync, statSync } from 'node:fs';
import { join, basename, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = join(root, 'build', 'wasm');
mkdirSync(outDir, { recursive: true });

function findEntries(dir) {
  const entries = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) {
      if (name === 'node_modules') continue;
      entries.push(...findEntries(full));
    } else if (basename(dir) === 'assembly' && name.endsWith('.ts') && !name.startsWith('_')) {
      entries.push(full);
    }
  }
  return entries;
}

const entries = [...findEntries(join(root, 'src')), ...findEntries(join(root, 'sim'))];
let failed = false;
for (const entry of entries) {
  const out = join(outDir, basename(entry, '.ts') + '.wasm');
  const { error, stderr } = await asc.main([
    relative(root, entry),
    '-O3', '--converge', '--noAssert',
    '--enable', 'simd',
    '--runtime', 'stub',
    '--initialMemory', '2',
    '--outFile', relative(root, out),
  ], { stdout: process.stdout, stderr: process.stderr });
  if (error) {
    failed = true;
    console.error(`build-wasm: ${entry}: ${error.message}`);
    console.error(stderr.toString());
  } else {
    console.log(`build-wasm: ${relative(root, out)} (${statSync(out).size} bytes)`);
  }
}
if (failed) process.exit(1);
