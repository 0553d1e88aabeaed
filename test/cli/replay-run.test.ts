// optoloop replay and optoloop run, end to end through the CLI: a simulated recording replayed
// through the daemon to its end; run on a config with a timed simulation; Ctrl-C stops a run.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../../src/cli/main.js';
import { captureIo } from '../helpers/capture-io.js';
import { artifactDir } from '../helpers/paths.js';

const dir = artifactDir('replay-cli');
rmSync(dir, { recursive: true, force: true });
const rec = join(dir, 'rec');

test('replay --speed max runs a recording through the daemon to its end', async () => {
  assert.is(await main(['sim', '--channels', '32', '--probe', 'A1x32-Poly3-10mm-50-177', '--duration', '3', '--out', rec], captureIo()), 0);
  const io = captureIo();
  const code = await main(['replay', join(rec, 'sim_g0_t0.imec0.ap.bin'), '--speed', 'max', '--no-bus'], io);
  assert.is(code, 0, io.stderr);
  assert.match(io.stderr, 'geometry from the source');
  assert.match(io.stderr, /stopped: 3000 blocks, \d+ spikes/);
});

test('replay refuses a bad speed with a usage error', async () => {
  const io = captureIo();
  assert.is(await main(['replay', join(rec, 'sim_g0_t0.imec0.ap.bin'), '--speed', 'fast'], io), 2);
  assert.match(io.stderr, '--speed: expected a positive number or "max", got "fast"');
});

test('run: a timed simulation with the bus on a free port prints the dashboard URL and ends by itself', async () => {
  const config = join(dir, 'rig.yaml');
  writeFileSync(config, 'source: { kind: sim, channels: 32, probe: A1x32-Poly3-10mm-50-177, realTime: false, durationS: 2 }\nbus: { port: 0 }\n');
  const io = captureIo();
  assert.is(await main(['run', config, '--status-every', '0'], io), 0, io.stderr);
  assert.match(io.stdout, /optoloop: dashboard at http:\/\/127\.0\.0\.1:\d+\/#token=/);
  assert.match(io.stderr, /stopped: 2000 blocks/);
});

test('run: Ctrl-C stops an endless simulation cleanly', async () => {
  const config = join(dir, 'endless.yaml');
  writeFileSync(config, 'source: { kind: sim, channels: 32, probe: A1x32-Poly3-10mm-50-177 }\nbus: { enabled: false }\n');
  const io = captureIo();
  const running = main(['run', config, '--status-every', '0'], io);
  const deadline = Date.now() + 20_000;
  while (!io.stderr.includes('daemon: running') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  io.interrupt();
  assert.is(await running, 0, io.stderr);
  assert.match(io.stderr, /daemon: stopped: \d+ blocks/);
});

test('run: an invalid config exits 1 naming the path and what was expected', async () => {
  const config = join(dir, 'bad.yaml');
  writeFileSync(config, 'source: { kind: sim }\npipeline: { detect: { thresholdUv: 50 } }\n');
  const io = captureIo();
  assert.is(await main(['run', config], io), 1);
  assert.match(io.stderr, 'E_CONFIG_INVALID');
  assert.match(io.stderr, 'pipeline.detect.thresholdUv: expected a negative number, got 50');
});

test.run();
