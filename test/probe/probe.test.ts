import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readProbeFile, parseProbeInterface } from '../../src/probe/probeinterface.js';
import { layoutFromProbe } from '../../src/probe/channel-layout.js';
import { neighbourhoodsByRadius, neighboursOf } from '../../src/probe/neighbourhoods.js';
import { isOptoloopError } from '../../src/core/errors.js';
import { sharedData } from '../helpers/paths.js';

const library = sharedData('probeinterface-library');

test('every probe in the shared library parses, with finite positions', () => {
  let count = 0;
  for (const maker of readdirSync(library).filter((n) => !n.includes('.'))) {
    for (const model of readdirSync(join(library, maker))) {
      const probe = readProbeFile(join(library, maker, model, `${model}.json`));
      assert.ok(probe.contacts.length >= 32, model);
      assert.ok(probe.contacts.every((c) => Number.isFinite(c.xUm) && Number.isFinite(c.yUm)), model);
      count++;
    }
  }
  assert.is(count, 13);
});

test('A4x8: four shanks, neighbourhoods never cross a shank', () => {
  const probe = readProbeFile(join(library, 'neuronexus', 'A4x8-5mm-100-200-177', 'A4x8-5mm-100-200-177.json'));
  const layout = layoutFromProbe(probe, 32);
  assert.is(layout.shankNames.length, 4);
  const hoods = neighbourhoodsByRadius(layout, 1000);
  for (let c = 0; c < 32; c++) {
    const row = neighboursOf(hoods, c);
    assert.is(row[0], c, 'a neighbourhood starts with its own channel');
    for (const o of row) assert.is(layout.shank[o], layout.shank[c]);
    assert.is(row.length, 8, 'eight sites per shank, all within 1 mm');
  }
});

test('A1x32-Poly3: neighbours sorted by distance, radius respected', () => {
  const probe = readProbeFile(join(library, 'neuronexus', 'A1x32-Poly3-10mm-50-177', 'A1x32-Poly3-10mm-50-177.json'));
  const layout = layoutFromProbe(probe, 32);
  const hoods = neighbourhoodsByRadius(layout, 60);
  let previous = -1;
  for (const o of neighboursOf(hoods, 5)) {
    const d = Math.hypot(layout.xUm[o] - layout.xUm[5], layout.yUm[o] - layout.yUm[5]);
    assert.ok(d <= 60);
    assert.ok(d >= previous);
    previous = d;
  }
  assert.ok(hoods.maxSize >= 3 && hoods.maxSize < 32);
});

test('NP1000 with 384 channels and no map is refused with a message naming the missing map', () => {
  const probe = readProbeFile(join(library, 'imec', 'NP1000', 'NP1000.json'));
  try {
    layoutFromProbe(probe, 384);
    assert.unreachable();
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_PROBE_INVALID'));
    assert.match((error as Error).message, 'has 960 contacts but the stream has 384 channels');
  }
  const ids = Array.from({ length: 384 }, (_, i) => `e${i}`);
  const layout = layoutFromProbe(probe, 384, { channelContactIds: ids });
  assert.is(layout.channelCount, 384);
  assert.is(layout.yUm[383], probe.contacts[383].yUm);
});

test('device_channel_indices are honoured', () => {
  const [probe] = parseProbeInterface({
    specification: 'probeinterface',
    probes: [{ contact_positions: [[0, 0], [0, 10], [0, 20]], device_channel_indices: [2, 0, 1] }],
  });
  const layout = layoutFromProbe(probe, 3);
  assert.equal(Array.from(layout.yUm), [10, 20, 0]);
});

test('malformed probe files name the path and what was expected', () => {
  try {
    parseProbeInterface({ specification: 'probeinterface', probes: [{ contact_positions: [[0, 0], ['a', 1]] }] }, 'p.json');
    assert.unreachable();
  } catch (error) {
    assert.is((error as Error).message, 'p.json: probes[0].contact_positions[1]: expected an [x, y] pair of numbers, got an array of 2');
  }
});

test.run();
