// An optotagging session run by the daemon on the simulator (sim source → pipeline → online
// clustering → optotag session → governed sim light → opsin units answer), scored against the
// simulator's ground truth (src/daemon/optotag-sim.ts); the tagged units land in the unit library,
// which `optoloop train` reads. Small (32 channels) and seeded: the stream runs as fast as it is
// computed and every time involved is the stream's, so the figures are the same on every machine.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readLibrary } from '../../src/classify/library.js';
import { runOptotagSim, type OptotagSimReport } from '../../src/daemon/optotag-sim.js';
import { artifactDir } from '../helpers/paths.js';
import { runCli } from '../helpers/cli.js';

const dir = artifactDir('daemon-optotag-sim');
const library = join(dir, 'library.json');
rmSync(library, { force: true });

const common = { channels: 32, seed: 1, maxPulses: 150, intervalMs: 700, intervalJitterMs: 150, minSpikes: 50 } as const;
let adaptive: OptotagSimReport;
let fixed: OptotagSimReport;

test('adaptive stop, opsin in PV: every mapped opsin unit tagged, no unit without opsin tagged; tagged units appended to the library', async () => {
  adaptive = await runOptotagSim({ ...common, opsin: ['PV'], adaptive: true, library });
  const c = adaptive.counts;
  assert.ok(c.mappedOpsin >= 2, `${c.mappedOpsin} detected units map to opsin units (the test needs some)`);
  assert.ok(c.mappedOther >= 2, `${c.mappedOther} detected units map to units without opsin`);
  assert.ok(c.mappedOpsinTagged / c.mappedOpsin >= 0.95, `recall ${c.mappedOpsinTagged}/${c.mappedOpsin}`);
  assert.ok(c.mappedOtherTagged / c.mappedOther <= 0.02, `false positives ${c.mappedOtherTagged}/${c.mappedOther}`);
  assert.is(c.truthOpsinRecalled, c.truthOpsin, 'every opsin unit with a mapped detected unit: its largest one tagged');
  assert.is(c.truthOtherAnyTagged, 0);
  assert.is(c.decided, c.sessionUnits, 'the session ends with every unit decided');
  assert.ok(adaptive.result.stoppedEarly, adaptive.result.reason);
  assert.match(adaptive.result.reason, /every unit decided/);
  assert.is(adaptive.result.pulsesFailed + adaptive.result.pulsesRefused, 0);

  // The library: one entry per tagged unit that had waveforms, labelled with the opsin's type, its
  // spike train as the session saw it.
  assert.ok(existsSync(library), library);
  const lib = readLibrary(library);
  const tagged = adaptive.result.units.filter((u) => u.tagged);
  assert.is(lib.units.length, tagged.length);
  for (const entry of lib.units) {
    const unitId = Number(/u(\d+)$/.exec(entry.id)![1]);
    assert.ok(tagged.some((u) => u.unitId === unitId), `${entry.id} is a tagged unit`);
    assert.is(entry.label, 'PV');
    assert.is(entry.source, 'optotag');
    const spikes = adaptive.detectedUnits.find((d) => d.unitId === unitId)!.spikes;
    assert.is(entry.spikeTimesS.length, spikes, `${entry.id}: every spike of the session`);
    const peakUv = Math.max(...entry.waveformUv.map(Math.abs));
    assert.ok(entry.waveformUv.length > 30 && peakUv > 10, `${entry.id}: a mean waveform (peak ${peakUv} µV), not averaged noise`);
    assert.ok(entry.tag && entry.tag.saltP !== null && entry.tag.saltP < 0.01, `${entry.id}: SALT p ${entry.tag?.saltP}`);
  }
});

test('the fixed protocol gives every pulse (maxPulses); the adaptive stop needed fewer for the same verdict on the opsin units', async () => {
  fixed = await runOptotagSim({ ...common, opsin: ['PV'], adaptive: false, library: null });
  assert.is(fixed.result.pulsesDelivered, common.maxPulses);
  assert.not.ok(fixed.result.stoppedEarly);
  assert.ok(adaptive.result.pulsesDelivered < fixed.result.pulsesDelivered, `adaptive ${adaptive.result.pulsesDelivered} vs fixed ${fixed.result.pulsesDelivered}`);
  assert.ok(adaptive.sessionEndS - adaptive.sessionStartS < fixed.sessionEndS - fixed.sessionStartS);
  const c = fixed.counts;
  assert.ok(c.mappedOpsinTagged / c.mappedOpsin >= 0.95, `fixed recall ${c.mappedOpsinTagged}/${c.mappedOpsin}`);
  assert.is(c.truthOpsinRecalled, c.truthOpsin);
});

test('reproducible: the same seed gives the same session, pulse for pulse', async () => {
  const again = await runOptotagSim({ ...common, opsin: ['PV'], adaptive: true, library: null });
  assert.is(again.result.pulsesDelivered, adaptive.result.pulsesDelivered);
  assert.equal(
    again.result.units.map((u) => [u.unitId, u.tagged, u.decidedAtPulse]),
    adaptive.result.units.map((u) => [u.unitId, u.tagged, u.decidedAtPulse]),
  );
});

test('a second session (opsin in SST) appends to the same library; optoloop train reads it and learns PV vs SST', async () => {
  const sst = await runOptotagSim({ ...common, opsin: ['SST'], adaptive: true, library });
  assert.ok(sst.counts.mappedOpsinTagged >= 1, `SST units tagged: ${sst.counts.mappedOpsinTagged}`);
  const lib = readLibrary(library);
  const labels = lib.units.map((u) => u.label);
  assert.ok(labels.includes('PV') && labels.includes('SST'), labels.join(','));
  const out = join(dir, 'model');
  rmSync(out, { recursive: true, force: true });
  const r = await runCli(['train', '--library', library, '--out', out, '--folds', '0', '--epochs', '1', '--members', '1', '--min-steps', '1', '--inputs', 'waveform', '--min-class-units', '1', '--seed', '1']);
  assert.is(r.code, 0, r.err);
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { classes: string[] };
  assert.equal([...manifest.classes].sort(), ['PV', 'SST']);
});

test.run();
