// Runs the firmware core's own unit checks (firmware-bridge/host/core_selftest.cpp: CRC and COBS
// published vectors, the limit checker), built for the host by make + g++.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildEmulator } from '../../drivers/firmware-bridge/emulator.js';
import { packageRoot } from '../../src/core/package-root.js';

test('the firmware core passes its C++ unit checks', () => {
  buildEmulator(); // make builds the self-test beside the emulator
  const run = spawnSync(join(packageRoot(), 'build', 'firmware-bridge', 'core-selftest'), { encoding: 'utf8' });
  assert.is(run.status, 0, run.stderr);
  const m = run.stdout.match(/(\d+) passed, (\d+) failed/);
  assert.ok(m, run.stdout);
  assert.is(Number(m![2]), 0);
  assert.ok(Number(m![1]) >= 20);
});

test('the Teensy sketch and its HAL compile against a stand-in of the Teensy API (syntax and use of the core only)', () => {
  const run = spawnSync('make', ['-s', '-C', join(packageRoot(), 'firmware-bridge', 'host'), 'sketch-check'], { encoding: 'utf8' });
  assert.is(run.status, 0, run.stderr);
});

test.run();
