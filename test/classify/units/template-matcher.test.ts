import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TemplateMatcher, type MatchOptions } from '../../../src/classify/units/template-matcher.js';
import { seededRandom } from '../../helpers/seeded.js';
import { addSpike, allocateSnippets, bankOfUnit, makeUnit, twoColumnLayout, worldHoods } from '../../helpers/snippet-world.js';

const layout = twoColumnLayout(24);
const hoods = worldHoods(layout);
const unit = makeUnit(layout, 0, 10, 200, 300, 0.25);
const noise = new Float32Array(layout.channelCount).fill(1);
const WINDOW_BEFORE = 10;
const WINDOW_AFTER = 24;

/** One template: the unit's noise-free waveform on its peak channel's neighbourhood. */
const bankOfTheUnit = () => bankOfUnit(hoods, unit, WINDOW_BEFORE, WINDOW_AFTER);

test('half-sample shifts: a spike half a sample late is matched at +½ with far less residual than at a whole shift', () => {
  const bank = bankOfTheUnit();
  const batch = allocateSnippets(hoods, 1);
  // Noise σ = 1 µV against a 300 µV, 0.25 ms spike: the residual is the misalignment.
  addSpike(batch, hoods, unit, 1000, 1, seededRandom(4), 1, 0.5);
  const options: MatchOptions = { maxShift: 1, minScale: 0.6, maxScale: 1.6, maxExcessSigma: 6, maxTemplateError: 0.03 };
  const candidates = Int32Array.of(0);
  const whole = new TemplateMatcher(bank, layout.channelCount, hoods.maxSize, options).match(batch, 0, noise, candidates, 0, 1);
  const wholeShift = whole.shift;
  const wholeResidual = whole.residual;
  const half = new TemplateMatcher(bank, layout.channelCount, hoods.maxSize, { ...options, halfSampleShifts: true }).match(batch, 0, noise, candidates, 0, 1);
  assert.ok(Number.isInteger(wholeShift));
  assert.is(half.shift, 0.5);
  assert.ok(half.residual < wholeResidual / 5, `residual ${half.residual} at +½ against ${wholeResidual} at ${wholeShift}`);
  assert.ok(half.accepted);
  // χ² with N degrees of freedom: at the right shift the residual is about the noise.
  assert.ok(half.residual < half.samples + 6 * Math.sqrt(2 * half.samples), `residual ${half.residual}, N ${half.samples}`);
});

test('half-sample shifts off: only whole shifts are reported', () => {
  const bank = bankOfTheUnit();
  const batch = allocateSnippets(hoods, 1);
  addSpike(batch, hoods, unit, 1000, 1, seededRandom(5), 1, -0.5);
  const m = new TemplateMatcher(bank, layout.channelCount, hoods.maxSize, { maxShift: 1, minScale: 0.6, maxScale: 1.6, maxExcessSigma: 6, maxTemplateError: 0.03 }).match(batch, 0, noise, Int32Array.of(0), 0, 1);
  assert.ok(Number.isInteger(m.shift));
  assert.is(m.template, 0);
});

test.run();
