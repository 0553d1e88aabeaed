/**
 * The dashboard page: connects to the bus with the token from the URL fragment, keeps the newest
 * spikes in a ring and the units in a map, and redraws the raster every animation frame; tables and
 * unit plots are refreshed a few times a second. Frame render times are measured and shown.
 */
import { DashboardBus } from './bus.js';
import { UNLABELLED, packRgba, typeColour } from './colours.js';
import { drawBars, drawLine } from './plots.js';
import { Raster } from './raster.js';
import { SpikeRing } from './spike-ring.js';

type Msg = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const fmt = (v: number | null | undefined, digits = 1) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits));
const TAG_STATES = ['untested', 'testing', 'tagged', 'not-tagged'];
const PERMISSIONS = ['', 'subscribe', 'command', 'stimulate'];

const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
const busPath = document.body.dataset.busPath ?? '/bus';
const windowS = Number(document.body.dataset.rasterWindowS ?? 5);

const ring = new SpikeRing(262_144);
const units = new Map<number, Msg>();
const unitColour = new Map<number, number>();
let selected: number | null = null;
let unitsDirty = false;
let lastBatchAtMs = 0;
let lastBatchNewest = 0;
let busDrops = 0;
let estopEngaged: boolean | null = null;

const raster = new Raster($('raster') as HTMLCanvasElement, windowS);

function labelOf(u: Msg): string | null {
  return u.classification ? (u.classification.label ?? null) : null;
}

/**
 * The tag state as shown. A session ended early (emergency stop, abort) leaves the units it had not
 * decided in state untested although they received pulses: shown as undecided, not as untested.
 */
function tagStateText(tag: Msg): string {
  const state = TAG_STATES[tag.state];
  return state === 'untested' && tag.pulses > 0 ? 'undecided' : state;
}

function message(text: string): void {
  $('messages').textContent = text;
}

// ------------------------------------------------------------------------------------ bus

const bus = new DashboardBus(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${busPath}`, token, {
  connection(state, detail) {
    const el = $('conn');
    el.textContent = state === 'open' ? 'connected' : state === 'refused' ? `refused: ${detail}` : state;
    el.className = `pill ${state === 'open' ? 'ok' : state === 'connecting' ? '' : 'bad'}`;
  },
  welcome(m) {
    $('rig').textContent = m.rig || '—';
    const permissions: string[] = (m.permissions as number[]).map((p) => PERMISSIONS[p]).filter(Boolean);
    $('permissions').textContent = permissions.join(', ') || 'none';
    // Stimulation controls exist only for a token that may stimulate; the server checks again.
    $('stim').hidden = !permissions.includes('stimulate');
  },
  spikes(m) {
    ring.append(m.peakSampleIndex, m.peakChannel, m.unitId, m.sampleRateHz);
    lastBatchAtMs = performance.now();
    lastBatchNewest = ring.newestSampleIndex;
  },
  units(m) {
    if (m.complete) {
      const keep = new Set((m.units as Msg[]).map((u) => u.unitId));
      for (const id of [...units.keys()]) if (!keep.has(id)) units.delete(id);
    }
    for (const id of m.removedUnitIds as number[]) units.delete(id);
    for (const u of m.units as Msg[]) units.set(u.unitId, u);
    unitColour.clear();
    for (const [id, u] of units) unitColour.set(id, packRgba(typeColour(labelOf(u))));
    if (selected === null && units.size) selected = Math.min(...units.keys());
    unitsDirty = true;
  },
  stimulus(m) {
    if (!m.ok && m.error) message(`stimulus refused: ${m.error.code} ${m.error.message}`);
  },
  bci() {},
  status(m) {
    $('rig').textContent = m.rig || $('rig').textContent;
    $('stream-time').textContent = `${fmt(m.streamTimeS, 1)} s`;
    setEstop(Boolean(m.estopEngaged));
    bar('source', m.sourceBufferOccupancy);
    bar('recorder', m.recorderQueueOccupancy);
    $('dropped').textContent = String(m.blocksDropped);
    $('overflowed').textContent = String(m.blocksOverflowed);
    $('recorder-dropped').textContent = m.recorderFramesDropped === null ? '—' : String(m.recorderFramesDropped);
    $('devices').textContent = (m.devices as Msg[]).map((d) => `${d.name} (${d.kind}): ${d.state}${d.lastError ? ` — ${d.lastError}` : ''}`).join(' · ');
    // The first histogram (block arrival → sink write) is drawn; every one is summarised in the text.
    const histograms = m.latency as Msg[];
    const h = histograms[0];
    if (h) {
      drawBars($('latency') as HTMLCanvasElement, h.counts, '#3e8ed0', `${h.name} latency, µs (log buckets up to ${h.bucketUpperUs[h.bucketUpperUs.length - 1] ?? '—'})`);
      $('latency-text').textContent = histograms
        .map((x) => `${x.name}: n ${x.count} · p50 ${fmt(x.p50Us, 0)} µs · p99 ${fmt(x.p99Us, 0)} µs · p99.9 ${fmt(x.p999Us, 0)} µs · max ${fmt(x.maxUs, 0)} µs`)
        .join('\n');
    }
    $('early-ids').textContent = earlyIdsText(m.earlyIds as Msg | null | undefined);
  },
  dropped(m) {
    busDrops = (m.total as Msg[]).reduce((n, t) => n + t.count, 0);
    $('bus-drops').textContent = String(busDrops);
  },
  error(code, text) {
    message(`${code}: ${text}`);
  },
});

/** With early identification: how often the unit the rules acted on was the full snippet's unit. */
function earlyIdsText(e: Msg | null | undefined): string {
  const assigned = e ? e.agreed + e.missed + e.differed : 0;
  if (!e || assigned === 0) return '';
  const pct = (n: number) => `${((100 * n) / assigned).toFixed(1)} %`;
  return `early ids (what the rules act on), of ${assigned} assigned spikes: same unit as the full snippet ${pct(e.agreed)}, another unit ${pct(e.differed)}, none ${pct(e.missed)}`;
}

function bar(name: string, occupancy: number | null): void {
  const fill = $(`bar-${name}`);
  $(`occ-${name}`).textContent = occupancy === null || occupancy === undefined ? 'off' : `${Math.round(occupancy * 100)} %`;
  const v = occupancy ?? 0;
  fill.style.width = `${Math.min(100, v * 100)}%`;
  fill.style.background = v > 0.8 ? 'var(--red)' : v > 0.5 ? 'var(--amber)' : 'var(--green)';
}

function setEstop(engaged: boolean): void {
  estopEngaged = engaged;
  const el = $('estop-state');
  el.textContent = engaged ? 'ENGAGED' : 'released';
  el.className = engaged ? 'engaged' : 'released';
}

// ------------------------------------------------------------------------------------ controls

$('estop').addEventListener('click', async () => {
  const r = await bus.command({ estop: {} });
  message(r.ok ? `emergency stop: ${r.message || 'engaged'}` : `emergency stop FAILED: ${r.code} ${r.message}`);
  if (r.ok) setEstop(true);
});

$('stim-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const num = (id: string) => Number(($(id) as HTMLInputElement).value);
  const r = await bus.command({
    stimulate: {
      sink: ($('stim-sink') as HTMLInputElement).value,
      output: num('stim-output'),
      train: { pulseWidthMs: num('stim-width'), pulseIntervalMs: num('stim-interval'), pulseCount: num('stim-count'), delayMs: 0, level: num('stim-level') },
    },
  });
  message(r.ok ? `stimulate: ${r.message || 'sent'}` : `stimulate refused: ${r.code} ${r.message}`);
});

const simple = (id: string, body: object, what: string) =>
  $(id).addEventListener('click', async () => {
    const r = await bus.command(body);
    message(r.ok ? `${what}: ${r.message || 'ok'}` : `${what} refused: ${r.code} ${r.message}`);
  });
simple('optotag-start', { startOptotag: {} }, 'start optotagging');
simple('optotag-stop', { stopOptotag: {} }, 'stop optotagging');
simple('estop-release', { releaseEstop: {} }, 'release e-stop');

$('units').querySelector('tbody')!.addEventListener('click', (event) => {
  const row = (event.target as HTMLElement).closest('tr');
  if (!row?.dataset.unit) return;
  selected = Number(row.dataset.unit);
  unitsDirty = true;
});

// ------------------------------------------------------------------------------------ tables and plots

const rows = new Map<number, HTMLTableRowElement>();

function setCell(row: HTMLTableRowElement, index: number, text: string): void {
  const cell = row.cells[index];
  if (cell.textContent !== text) cell.textContent = text;
}

function renderUnits(): void {
  const body = $('units').querySelector('tbody')!;
  for (const [id, row] of rows) {
    if (!units.has(id)) {
      row.remove();
      rows.delete(id);
    }
  }
  const ids = [...units.keys()].sort((a, b) => a - b);
  ids.forEach((id, position) => {
    const u = units.get(id);
    let row = rows.get(id);
    if (!row) {
      row = document.createElement('tr');
      row.dataset.unit = String(id);
      row.innerHTML = '<td></td><td></td><td class="l"></td><td></td><td></td><td class="l"></td><td></td><td></td><td></td><td></td>';
      rows.set(id, row);
    }
    if (body.children[position] !== row) body.insertBefore(row, body.children[position] ?? null);
    const label = labelOf(u);
    const tag = u.tag;
    setCell(row, 0, String(id));
    setCell(row, 1, String(u.peakChannel));
    setCell(row, 2, label ?? (u.classification ? 'abstain' : '—'));
    (row.cells[2] as HTMLElement).style.color = typeColour(label);
    setCell(row, 3, u.classification ? fmt(u.classification.confidenceRatio, 1) : '—');
    setCell(row, 4, fmt(u.firingRateHz, 1));
    setCell(row, 5, tag ? tagStateText(tag) : '—');
    setCell(row, 6, tag && tag.saltP !== null ? tag.saltP.toPrecision(2) : '—');
    setCell(row, 7, fmt(tag?.latencyMs, 2));
    setCell(row, 8, fmt(tag?.jitterMs, 2));
    setCell(row, 9, String(u.spikeCount));
    row.className = id === selected ? 'sel' : '';
  });
  $('unit-count').textContent = String(units.size);
  renderSelected();
  renderLegend();
}

function renderSelected(): void {
  const u = selected === null ? undefined : units.get(selected);
  $('sel-id').textContent = u ? String(u.unitId) : '—';
  if (!u) return;
  const label = labelOf(u);
  const colour = typeColour(label);
  const c = u.classification;
  const t = u.tag;
  const kv: [string, string][] = [
    ['type', label ?? (c ? 'abstained' : 'not classified')],
    ['probabilities', c ? (c.classNames as string[]).map((n, i) => `${n} ${fmt(c.probabilities[i] * 100, 0)}%`).join(' · ') : '—'],
    ['trough-to-peak', `${fmt(u.troughToPeakMs, 2)} ms`],
    ['layer', u.layer ?? '—'],
    ['tag', t ? `${tagStateText(t)} · ${t.pulses} pulses · reliability ${fmt(t.reliability, 2)}` : '—'],
  ];
  $('sel-kv').innerHTML = '';
  for (const [k, v] of kv) {
    const a = document.createElement('span');
    a.textContent = k;
    const b = document.createElement('span');
    b.textContent = v;
    $('sel-kv').append(a, b);
  }
  drawLine($('waveform') as HTMLCanvasElement, u.meanWaveformUv, colour, 'µV');
  drawBars($('acg') as HTMLCanvasElement, u.acg, colour, `lags 1…${u.acg.length} ms`);
  const psth = t?.psth;
  if (psth && psth.counts.length) {
    const onset = -psth.startMs / (psth.binMs * psth.counts.length);
    drawBars($('psth') as HTMLCanvasElement, psth.counts, colour, `${psth.startMs}…${psth.startMs + psth.binMs * psth.counts.length} ms, ${psth.binMs} ms bins`, onset >= 0 && onset <= 1 ? onset : null);
  } else {
    drawBars($('psth') as HTMLCanvasElement, [], colour, '');
  }
}

function renderLegend(): void {
  const counts = new Map<string, number>();
  for (const u of units.values()) {
    const l = labelOf(u) ?? 'unlabelled';
    counts.set(l, (counts.get(l) ?? 0) + 1);
  }
  const legend = $('legend');
  legend.innerHTML = '';
  for (const [label, n] of [...counts].sort()) {
    const item = document.createElement('span');
    const swatch = document.createElement('i');
    swatch.style.background = label === 'unlabelled' ? UNLABELLED : typeColour(label);
    item.append(swatch, `${label} (${n})`);
    legend.append(item);
  }
}

// ------------------------------------------------------------------------------------ frame loop

const FRAME_HISTORY = 600;
const frameMs = new Float64Array(FRAME_HISTORY);
const intervalMs = new Float64Array(FRAME_HISTORY);
let frames = 0;
let lastFrameAt = 0;
let lastTableAt = 0;
const colourOf = (id: number) => unitColour.get(id) ?? 0;

function percentile(values: Float64Array, count: number, p: number): number {
  const sorted = Array.from(values.subarray(0, count)).sort((a, b) => a - b);
  return sorted[Math.min(count - 1, Math.floor(p * count))] ?? 0;
}

/** Render statistics over the last frames (shown in the footer; read by the end-to-end test). */
function frameStats() {
  const n = Math.min(frames, FRAME_HISTORY);
  return {
    frames,
    p50Ms: percentile(frameMs, n, 0.5),
    p99Ms: percentile(frameMs, n, 0.99),
    maxMs: n ? Math.max(...frameMs.subarray(0, n)) : 0,
    intervalP50Ms: percentile(intervalMs, Math.max(0, n - 1), 0.5),
    intervalP99Ms: percentile(intervalMs, Math.max(0, n - 1), 0.99),
    dots: raster.lastDots,
    spikes: ring.written,
    units: units.size,
    estopEngaged,
  };
}
(window as unknown as { optoloopDashboard: unknown }).optoloopDashboard = { frameStats };

function frame(now: number): void {
  const started = performance.now();
  // Scroll smoothly between batches: advance stream time by the wall clock, at most 250 ms ahead.
  const aheadSamples = Math.min(250, now - lastBatchAtMs) * (ring.sampleRateHz / 1000);
  raster.draw(ring, lastBatchNewest + Math.max(0, aheadSamples), colourOf);
  if (unitsDirty && now - lastTableAt > 250) {
    unitsDirty = false;
    lastTableAt = now;
    renderUnits();
  }
  const spent = performance.now() - started;
  frameMs[frames % FRAME_HISTORY] = spent;
  if (lastFrameAt) intervalMs[(frames - 1) % FRAME_HISTORY] = now - lastFrameAt;
  lastFrameAt = now;
  frames++;
  if (frames % 30 === 0) {
    const s = frameStats();
    $('frame-stats').textContent = `${s.frames} frames · work p50 ${s.p50Ms.toFixed(2)} ms p99 ${s.p99Ms.toFixed(2)} ms · frame interval p50 ${s.intervalP50Ms.toFixed(1)} ms · ${s.dots} dots${raster.lastStride > 1 ? ` (every ${raster.lastStride}th)` : ''}`;
  }
  requestAnimationFrame(frame);
}

if (!token) {
  $('conn').textContent = 'no token: open the URL the daemon printed (…/#token=…)';
  $('conn').className = 'pill bad';
} else {
  bus.start().catch((error: Error) => message(`cannot start: ${error.message}`));
}
requestAnimationFrame(frame);
