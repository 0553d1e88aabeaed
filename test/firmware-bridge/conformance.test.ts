// PROTOCOL.md is the specification; the firmware's ob_protocol.h and the driver's protocol.ts restate
// it. This keeps the three in step: every op, payload length and error code, and the §7 limits.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { packageRoot } from '../../src/core/package-root.js';
import { ErrorCode, Op, REPLY_BIT, REPLY_PAYLOAD_MIN_BYTES, REQUEST_PAYLOAD_BYTES } from '../../drivers/firmware-bridge/protocol.js';
import { bridgeLimitsSchema } from '../../drivers/firmware-bridge/config.js';
import { validate } from '../../src/config/schema.js';

const root = packageRoot();
const spec = readFileSync(join(root, 'firmware-bridge', 'PROTOCOL.md'), 'utf8');
const header = readFileSync(join(root, 'firmware-bridge', 'lib', 'optoloop_bridge_core', 'src', 'ob_protocol.h'), 'utf8');

function define(name: string): number {
  const m = header.match(new RegExp(`^#define ${name} (0x[0-9A-Fa-f]+|\\d+)u?\\b`, 'm'));
  assert.ok(m, `ob_protocol.h defines ${name}`);
  return Number(m![1]);
}

const rows = [...spec.matchAll(/^\| `0x([0-9A-F]{2})` \| ([A-Z_]+) \| ([^|]+)\| ([^|]+)\| ([^|]+)\| ([^|]+)\|$/gm)].map((m) => ({
  op: parseInt(m[1], 16),
  name: m[2],
  direction: m[3].trim(),
  requestBytes: m[4].trim(),
  replyOp: m[5].trim(),
  replyBytes: m[6].trim().replace('≥ ', ''),
}));

test('the message table of PROTOCOL.md, protocol.ts and ob_protocol.h agree', () => {
  assert.is(rows.length, 12);
  for (const row of rows) {
    const tsName = row.name === 'TRAIN_DONE' ? 'TRAIN_DONE' : row.name;
    assert.is(Op[tsName as keyof typeof Op], row.op, `protocol.ts ${row.name}`);
    const cName = row.name === 'TRAIN_DONE' ? 'OB_OP_EVT_TRAIN_DONE' : `OB_OP_${row.name}`;
    assert.is(define(cName), row.op, `ob_protocol.h ${cName}`);
    if (row.direction.startsWith('host')) {
      assert.is(REQUEST_PAYLOAD_BYTES[row.name as keyof typeof REQUEST_PAYLOAD_BYTES], Number(row.requestBytes), `${row.name} request length (ts)`);
      assert.is(define(`OB_LEN_${row.name}`), Number(row.requestBytes), `${row.name} request length (C)`);
      assert.is(parseInt(row.replyOp.replace(/`/g, ''), 16), row.op | REPLY_BIT);
    }
    assert.is(REPLY_PAYLOAD_MIN_BYTES[row.name as keyof typeof REPLY_PAYLOAD_MIN_BYTES], Number(row.replyBytes), `${row.name} reply length`);
  }
  assert.equal(Object.keys(Op).sort(), rows.map((r) => r.name).sort(), 'protocol.ts has no op the spec lacks');
});

test('the error table of PROTOCOL.md, protocol.ts and ob_protocol.h agree', () => {
  const errors = [...spec.matchAll(/^\| `0x([0-9A-F]{2})` \| ([A-Z_]+) \| (?!host|device)/gm)].map((m) => ({ code: parseInt(m[1], 16), name: m[2] }));
  assert.is(errors.length, 11);
  for (const e of errors) {
    assert.is(ErrorCode[e.name as keyof typeof ErrorCode], e.code, `protocol.ts ${e.name}`);
    assert.is(define(`OB_ERR_${e.name}`), e.code, `ob_protocol.h OB_ERR_${e.name}`);
  }
  assert.equal(Object.keys(ErrorCode).sort(), errors.map((e) => e.name).sort());
});

test('the limits of PROTOCOL.md §7: defaults and ceilings in the firmware and in the driver config', () => {
  const table = [...spec.matchAll(/^\| (\d) \| `(\w+)` — [^|]+\| ([\d ]+)(?: \([^)]*\))? \| ([^|]+) \|$/gm)].map((m) => ({
    field: m[2],
    defaultValue: Number(m[3].replace(/ /g, '')),
    max: Number(m[4].trim().split('…').pop()!.replace(/ /g, '')),
  }));
  assert.is(table.length, 5);
  const c: Record<string, [string, string]> = {
    max_width_us: ['OB_DEFAULT_MAX_WIDTH_US', 'OB_HARD_MAX_WIDTH_US'],
    duty_window_us: ['OB_DEFAULT_DUTY_WINDOW_US', 'OB_HARD_MAX_WINDOW_US'],
    max_duty_ppm: ['OB_DEFAULT_MAX_DUTY_PPM', 'OB_HARD_MAX_DUTY_PPM'],
    rate_window_us: ['OB_DEFAULT_RATE_WINDOW_US', 'OB_HARD_MAX_WINDOW_US'],
    max_pulses_per_window: ['OB_DEFAULT_MAX_PULSES', 'OB_HISTORY_CAPACITY'],
  };
  const result = validate(bridgeLimitsSchema, {});
  assert.ok(result.ok);
  const defaults = result.ok ? (result.value as Record<string, number>) : {};
  for (const row of table) {
    const [def, hard] = c[row.field];
    assert.is(define(def), row.defaultValue, `${row.field} default (C)`);
    const ceiling = hard === 'OB_HISTORY_CAPACITY' ? define(hard) - 1 : define(hard);
    assert.is(ceiling, row.max, `${row.field} ceiling (C)`);
    const tsField = row.field.replace(/_(\w)/g, (_, ch: string) => ch.toUpperCase());
    assert.is(defaults[tsField], row.defaultValue, `${tsField} default (config)`);
    const over = validate(bridgeLimitsSchema, { [tsField]: row.max + 1 });
    assert.not.ok(over.ok, `${tsField} above the ceiling is refused by the config`);
  }
});

test.run();
