import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, writeInput } from '../helpers/cli.js';
import { artifactDir } from '../helpers/paths.js';

const dir = artifactDir('cli-optotag');

const write = (name: string, text: string) => writeInput(dir, name, text);

// 100 pulses of 5 ms, one every 2 s from t = 10 s. Unit "resp" fires once after pulse k unless
// k % 5 = 0 (80 responses), at 3.2 ms (k % 4 ∈ {0, 1}), 4.2 ms (k % 4 = 2) or 7.2 ms (k % 4 = 3;
// not 5.x ms, which would fall in the 5 ms pulse's offset artefact).
// Both units also fire in the baseline, never within 20 ms of a pulse: at onset − 37.3·j ms for
// j = 1 … 12 where (k + j) % 3 = 0.
const latencies = (k: number) => (k % 4 <= 1 ? 3.2 : k % 4 === 2 ? 4.2 : 7.2);
function syntheticFiles(): { spikes: string; pulses: string; expected: number[] } {
  const spikeLines = ['unit,time_s'];
  const pulseLines = ['onset_s,offset_s'];
  const expected: number[] = [];
  for (let k = 0; k < 100; k++) {
    const onset = 10 + 2 * k;
    pulseLines.push(`${onset},${onset + 0.005}`);
    for (let j = 1; j <= 12; j++) {
      if ((k + j) % 3 !== 0) continue;
      spikeLines.push(`resp,${onset - 0.0373 * j}`);
      spikeLines.push(`flat,${onset - 0.0373 * j + 0.0011}`);
    }
    if (k % 5 !== 0) {
      spikeLines.push(`resp,${onset + latencies(k) / 1000}`);
      expected.push(latencies(k));
    }
  }
  // Spikes before the first and after the last pulse's windows, so that every pulse lies in each unit's span.
  spikeLines.push('resp,1', 'flat,1', 'resp,300', 'flat,300');
  return { spikes: write('spikes.csv', `${spikeLines.join('\n')}\n`), pulses: write('pulses.csv', `${pulseLines.join('\n')}\n`), expected };
}

test('--json: one object per unit per line with the statistics, the responder tagged', async () => {
  const { spikes, pulses, expected } = syntheticFiles();
  const { code, out, err } = await runCli(['optotag', '--spikes', spikes, '--pulses', pulses, '--json']);
  assert.is(code, 0, err);
  const lines = out.trim().split('\n');
  assert.is(lines.length, 2);
  const [resp, flat] = lines.map((l) => JSON.parse(l));
  assert.is(resp.unit, 'resp');
  assert.is(flat.unit, 'flat');
  // Every pulse is analysed: pulses are 2 s apart, more than the 500 ms baseline.
  assert.is(resp.pulses, 100);
  assert.is(resp.reliability, 0.8);
  // Jitter: the SD (n − 1) of the 80 latencies built above, computed here independently.
  const mean = expected.reduce((a, b) => a + b, 0) / expected.length;
  const sd = Math.sqrt(expected.reduce((a, b) => a + (b - mean) ** 2, 0) / (expected.length - 1));
  assert.ok(Math.abs(resp.jitter_ms - sd) < 1e-6, `jitter ${resp.jitter_ms} vs ${sd}`);
  // Half the responses are at 3.2 ms: the PSTH peak is the bin [3.0, 3.5), centre 3.25 ms.
  assert.is(resp.latency_ms, 3.25);
  // Allen: 80 evoked spikes in +1…+9 ms minus the [5, 6) offset artefact (7 ms per pulse) → 80 / 0.7 s;
  // no spike in −10…−2 ms → ratio = 114.2857 / (0 + 1).
  assert.ok(Math.abs(resp.allen_ratio - 80 / 0.7) < 1e-6, `allen ${resp.allen_ratio}`);
  assert.ok(resp.salt_p < 0.01, `salt p ${resp.salt_p}`);
  assert.ok(resp.salt_i > 0);
  assert.is(resp.tagged, true);
  assert.equal(resp.failed, []);
  assert.is(flat.reliability, 0);
  assert.is(flat.tagged, false);
  assert.ok(flat.failed.includes('excitation'));
});

test('the table output names why a unit was not tagged', async () => {
  const { spikes, pulses } = syntheticFiles();
  const { code, out } = await runCli(['optotag', '--spikes', spikes, '--pulses', pulses]);
  assert.is(code, 0);
  assert.match(out, /^unit\s+spikes\s+pulses\s+salt_p/);
  assert.match(out, /resp .* yes/);
  assert.match(out, /flat .* no \(.*excitation.*\)/);
});

test('options reach the analysis: a 200 ms baseline and a latency bound', async () => {
  const { spikes, pulses } = syntheticFiles();
  const { code, out } = await runCli(['optotag', '--spikes', spikes, '--pulses', pulses, '--json', '--baseline-ms', '200', '--max-latency-ms', '3']);
  assert.is(code, 0);
  const resp = JSON.parse(out.split('\n')[0]);
  // 200 ms / 9 ms response windows = 22 baseline windows per pulse: the baseline spikes at
  // −37.3·j ms for j ≤ 5 still fall in it, so baseline_reliability is not 0.
  assert.ok(resp.baseline_reliability > 0);
  assert.is(resp.tagged, false);
  assert.equal(resp.failed, ['latency']);
});

test('malformed CSV: the file, line, column and the expectation are named', async () => {
  const { pulses } = syntheticFiles();
  const cases: [string, string, RegExp][] = [
    ['bad-header.csv', 'unit,time\na,1\n', /bad-header\.csv: line 1, column 2: expected the header "unit,time_s", got "unit,time"/],
    ['bad-number.csv', 'unit,time_s\na,1\na,1.2.3\n', /bad-number\.csv: line 3, column 2 \(time_s\): expected a finite number, got "1\.2\.3"/],
    ['bad-fields.csv', 'unit,time_s\n# a comment\na,1,2\n', /bad-fields\.csv: line 3: expected 2 fields \(unit,time_s\), got 3/],
    ['empty-unit.csv', 'unit,time_s\n,1\n', /empty-unit\.csv: line 2, column 1 \(unit\): expected a non-empty unit/],
    ['empty.csv', '\n\n', /empty\.csv: spikes CSV is empty; expected a header line "unit,time_s"/],
    ['quote.csv', 'unit,time_s\n"a,1\n', /quote\.csv: line 2: a quoted field is not closed/],
  ];
  for (const [name, text, message] of cases) {
    const { code, err } = await runCli(['optotag', '--spikes', write(name, text), '--pulses', pulses]);
    assert.is(code, 1, name);
    assert.match(err, 'E_FILE_MALFORMED', name);
    assert.match(err, message, name);
  }
  const { err } = await runCli(['optotag', '--spikes', write('ok.csv', 'unit,time_s\r\n"unit ""7""",1\r\n'), '--pulses', write('backwards.csv', 'onset_s,offset_s\n5,4\n')]);
  assert.match(err, /backwards\.csv: line 2, column 2 \(offset_s\): expected a time ≥ onset_s \(5\), got 4/);
});

test('a missing file and wrong usage', async () => {
  const missing = await runCli(['optotag', '--spikes', join(dir, 'nope.csv'), '--pulses', join(dir, 'nope2.csv')]);
  assert.is(missing.code, 1);
  assert.match(missing.err, /E_FILE_NOT_FOUND.*nope\.csv: cannot read the spikes CSV/);
  const noSpikes = await runCli(['optotag', '--pulses', 'x.csv']);
  assert.is(noSpikes.code, 2);
  assert.match(noSpikes.err, '--spikes <file> is required');
  const badNumber = await runCli(['optotag', '--spikes', 'a', '--pulses', 'b', '--salt-window-ms', 'ten']);
  assert.is(badNumber.code, 2);
  assert.match(badNumber.err, '--salt-window-ms: expected a number, got "ten"');
  const badWindow = await runCli(['optotag', '--spikes', 'a', '--pulses', 'b', '--salt-window-ms', '10', '--salt-bin-ms', '3']);
  assert.is(badWindow.code, 2);
  assert.match(badWindow.err, '--salt-window-ms: expected a whole number of saltBinMs (3), got 10');
  const unknown = await runCli(['optotag', '--spikes', 'a', '--pulses', 'b', '--frobnicate']);
  assert.is(unknown.code, 2);
});

test('--help documents the inputs, every statistic and the output format', async () => {
  const { code, out } = await runCli(['optotag', '--help']);
  assert.is(code, 0);
  for (const word of ['unit,time_s', 'onset_s,offset_s', 'salt_p', 'salt_i', 'latency_ms', 'jitter_ms', 'reliability', 'allen_ratio', 'tagged', 'JSON lines', '--baseline-ms', '--salt-bin-ms']) {
    assert.ok(out.includes(word), `help mentions ${word}`);
  }
});

test.run();
