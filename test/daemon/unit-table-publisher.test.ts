// UnitTablePublisher: over one period every unit goes out exactly once, in slices of near-equal
// size; units gone since the last period are sent as removed; a client applying the partial
// updates the way the dashboard does ends with exactly the daemon's table.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { UnitSummary } from '../../src/core/units.js';
import { UnitTablePublisher } from '../../src/daemon/unit-table-publisher.js';

function summary(unitId: number, spikeCount: number): UnitSummary {
  return { unitId, streamId: 's', peakChannel: unitId % 32, spikeCount, firingRateHz: 1, troughToPeakMs: null, meanWaveformUv: [], acg: [], layer: null, classification: null, tag: null };
}

class Table {
  readonly units = new Map<number, number>();
  unitIds = () => [...this.units.keys()].sort((a, b) => a - b);
  summaryOf = (id: number) => (this.units.has(id) ? summary(id, this.units.get(id)!) : null);
}

interface Update {
  units: readonly UnitSummary[];
  removed: readonly number[];
}

function client(updates: readonly Update[]): Map<number, number> {
  const seen = new Map<number, number>();
  for (const u of updates) {
    for (const id of u.removed) seen.delete(id);
    for (const s of u.units) seen.set(s.unitId, s.spikeCount);
  }
  return seen;
}

test('each period sends every unit once, in slices of near-equal size', () => {
  const table = new Table();
  for (let id = 0; id < 103; id++) table.units.set(id * 3, id);
  const updates: Update[] = [];
  const publisher = new UnitTablePublisher(table, (units, removed) => updates.push({ units, removed }), 10);
  for (let t = 0; t < 10; t++) publisher.tick();
  const sizes = updates.map((u) => u.units.length);
  assert.is(sizes.reduce((a, b) => a + b, 0), 103);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `slice sizes ${sizes.join(' ')}`);
  const ids = updates.flatMap((u) => u.units.map((s) => s.unitId));
  assert.equal(ids, table.unitIds());
  assert.equal(client(updates), table.units);
});

test('units merged away are removed in the next period; new ones appear; the client converges to the table', () => {
  const table = new Table();
  for (let id = 1; id <= 40; id++) table.units.set(id, 0);
  const updates: Update[] = [];
  const publisher = new UnitTablePublisher(table, (units, removed) => updates.push({ units, removed }), 4);
  for (let t = 0; t < 4; t++) publisher.tick();
  // Mid-period of the next cycle: unit 35 goes (its slice has not gone out yet), 41 is born, counts move.
  publisher.tick();
  table.units.delete(35);
  table.units.delete(2);
  table.units.set(41, 7);
  for (const id of table.units.keys()) table.units.set(id, id * 10);
  for (let t = 0; t < 3; t++) publisher.tick();
  const secondPeriod = updates.slice(4).flatMap((u) => u.units.map((s) => s.unitId));
  assert.not.ok(secondPeriod.includes(35), 'a unit gone before its slice is not sent');
  assert.ok(client(updates).has(2), 'removal waits for the next period');
  for (let t = 0; t < 4; t++) publisher.tick();
  assert.equal(updates[8].removed, [2, 35], 'removed with the first slice of the next period');
  assert.equal(client(updates), table.units);
});

test('slices must be a positive integer', () => {
  assert.throws(() => new UnitTablePublisher(new Table(), () => undefined, 0), /slices must be an integer ≥ 1, got 0/);
});

test.run();
