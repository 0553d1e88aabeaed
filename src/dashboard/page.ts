/** The dashboard's HTML and CSS. Scripts come from /app (compiled from ./web), none inline. */

export interface PageOptions {
  readonly title: string;
  readonly busPath: string;
  readonly rasterWindowS: number;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function renderDashboardPage(o: PageOptions): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(o.title)} — optoloop</title>
<style>
:root { --bg:#0f1216; --panel:#171b21; --line:#2a3039; --text:#d8dde4; --dim:#8a94a3; --red:#e5484d; --amber:#f5a524; --green:#30a46c; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--text); font:13px/1.35 system-ui, sans-serif; }
header { display:flex; align-items:center; gap:16px; padding:8px 14px; border-bottom:1px solid var(--line); background:var(--panel); }
header h1 { font-size:15px; margin:0; font-weight:600; }
.pill { padding:2px 8px; border-radius:10px; background:#222831; color:var(--dim); }
.pill.ok { color:var(--green); } .pill.bad { color:var(--red); }
#estop { margin-left:auto; background:var(--red); color:white; border:0; border-radius:6px; font-weight:700; font-size:15px; padding:10px 22px; cursor:pointer; }
#estop-state { font-weight:700; }
#estop-state.engaged { color:var(--red); } #estop-state.released { color:var(--green); }
main { display:grid; grid-template-columns: minmax(0, 1fr) 380px; gap:10px; padding:10px; }
section { background:var(--panel); border:1px solid var(--line); border-radius:6px; padding:8px; }
section h2 { font-size:12px; text-transform:uppercase; letter-spacing:.05em; color:var(--dim); margin:0 0 6px; font-weight:600; }
canvas { display:block; width:100%; }
#raster { height:400px; background:#0b0d10; }
.legend { display:flex; flex-wrap:wrap; gap:10px; margin-top:6px; color:var(--dim); }
.legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:4px; vertical-align:-1px; }
#units-wrap { max-height:340px; overflow:auto; }
table { width:100%; border-collapse:collapse; font-variant-numeric: tabular-nums; }
th, td { text-align:right; padding:2px 6px; border-bottom:1px solid #20252d; white-space:nowrap; }
th { position:sticky; top:0; background:var(--panel); color:var(--dim); font-weight:600; }
td.l, th.l { text-align:left; }
tr.sel { background:#233041; }
tbody tr { cursor:pointer; }
.side { display:flex; flex-direction:column; gap:10px; }
.plots canvas { height:110px; margin-bottom:6px; background:#0b0d10; }
.kv { display:grid; grid-template-columns: auto 1fr; gap:2px 10px; }
.kv span:nth-child(odd) { color:var(--dim); }
.bar { height:10px; background:#222831; border-radius:3px; overflow:hidden; margin:3px 0 8px; }
.bar > div { height:100%; width:0; background:var(--green); }
#latency { height:120px; background:#0b0d10; }
#stim form { display:grid; grid-template-columns: auto 1fr; gap:4px 8px; align-items:center; }
#stim input { width:100%; background:#0b0d10; color:var(--text); border:1px solid var(--line); border-radius:4px; padding:3px 5px; }
#stim button { background:#2b3440; color:var(--text); border:1px solid var(--line); border-radius:4px; padding:5px 10px; cursor:pointer; }
#stim .row { grid-column: 1 / -1; display:flex; gap:6px; }
#messages { color:var(--dim); min-height:1.3em; }
footer { padding:4px 14px 10px; color:var(--dim); }
[hidden] { display:none !important; }
</style>
</head>
<body data-bus-path="${escapeHtml(o.busPath)}" data-raster-window-s="${o.rasterWindowS}">
<header>
  <h1>optoloop <span id="rig" class="pill">—</span></h1>
  <span id="conn" class="pill">connecting…</span>
  <span>stream <b id="stream-time">—</b></span>
  <span>units <b id="unit-count">0</b></span>
  <span>permissions <b id="permissions">—</b></span>
  <span>emergency stop: <span id="estop-state">unknown</span></span>
  <button id="estop" type="button" title="Stops all light now">EMERGENCY STOP</button>
</header>
<main>
  <div>
    <section>
      <h2>Raster — last ${o.rasterWindowS} s, by peak channel, coloured by cell type</h2>
      <canvas id="raster"></canvas>
      <div class="legend" id="legend"></div>
    </section>
    <section style="margin-top:10px">
      <h2>Units</h2>
      <div id="units-wrap"><table id="units">
        <thead><tr><th>unit</th><th>ch</th><th class="l">type</th><th>conf.</th><th>rate Hz</th><th class="l">tag</th><th>SALT p</th><th>lat. ms</th><th>jitter ms</th><th>spikes</th></tr></thead>
        <tbody></tbody>
      </table></div>
    </section>
  </div>
  <div class="side">
    <section class="plots">
      <h2>Unit <span id="sel-id">—</span></h2>
      <div class="kv" id="sel-kv"></div>
      <h2 style="margin-top:6px">Mean waveform (peak channel)</h2><canvas id="waveform"></canvas>
      <h2>Autocorrelogram (1 ms bins)</h2><canvas id="acg"></canvas>
      <h2>Optotagging PSTH</h2><canvas id="psth"></canvas>
    </section>
    <section>
      <h2>Latency</h2>
      <canvas id="latency"></canvas>
      <div id="latency-text" style="color:var(--dim);white-space:pre-line">—</div>
      <div id="early-ids" style="color:var(--dim)"></div>
      <h2 style="margin-top:8px">Buffers</h2>
      <div>source buffer <b id="occ-source">—</b></div><div class="bar"><div id="bar-source"></div></div>
      <div>recorder queue <b id="occ-recorder">—</b></div><div class="bar"><div id="bar-recorder"></div></div>
      <div class="kv"><span>blocks dropped</span><span id="dropped">—</span><span>blocks overflowed</span><span id="overflowed">—</span><span>recorder frames dropped</span><span id="recorder-dropped">—</span><span>bus drops (this page)</span><span id="bus-drops">0</span></div>
      <div id="devices" style="margin-top:6px"></div>
    </section>
    <section id="stim" hidden>
      <h2>Stimulation</h2>
      <form id="stim-form">
        <label for="stim-sink">sink</label><input id="stim-sink" value="led">
        <label for="stim-output">output</label><input id="stim-output" type="number" min="0" max="31" value="0">
        <label for="stim-width">pulse width ms</label><input id="stim-width" type="number" step="0.1" min="0.1" value="5">
        <label for="stim-interval">interval ms</label><input id="stim-interval" type="number" step="1" min="0" value="100">
        <label for="stim-count">pulses</label><input id="stim-count" type="number" min="1" value="1">
        <label for="stim-level">level 0…1</label><input id="stim-level" type="number" step="0.05" min="0" max="1" value="0.5">
        <div class="row"><button id="stim-send" type="submit">Stimulate</button><button id="optotag-start" type="button">Start optotagging</button><button id="optotag-stop" type="button">Stop optotagging</button><button id="estop-release" type="button">Release e-stop</button></div>
      </form>
    </section>
    <div id="messages"></div>
  </div>
</main>
<footer>render <span id="frame-stats">—</span></footer>
<script src="/vendor/protobuf.min.js"></script>
<script type="module" src="/app/dashboard/web/main.js"></script>
</body>
</html>
`;
}
