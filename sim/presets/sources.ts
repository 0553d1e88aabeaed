/**
 * The publications the presets' ranges come from, cited by key beside each range. Values marked
 * "assumption" in a preset have no published range behind them: they are our choice, stated so.
 */
export const SOURCES = {
  cellExplorerGT:
    'CellExplorer ground-truth cells (petersenpeter/CellExplorer +groundTruthData, commit 76beccb; shared/data/cellexplorer-groundtruth/cells.json): ' +
    'per-type quantiles (min, q25, median, q75, max) of troughToPeak_ms, firingRate_Hz, acg_tau_rise_ms, computed from that file',
  scienceOptotag:
    'science.md §2 (CellExplorer ground truth): first-spike latency 1.5–8 ms, jitter 0.2–2.7 ms; CellBase reliability definition',
  cellExplorerNarrow: 'CellExplorer putative cell-type rule (science.md §1): narrow interneuron if trough-to-peak ≤ 0.425 ms',
  harris2001:
    'Harris, Hirase, Leinekugel, Henze & Buzsáki 2001, Neuron 32:141 — hippocampal pyramidal complex-spike bursts: intra-burst ISIs < 6 ms (mostly 3–6 ms), amplitude decreasing within the burst',
  barthó2004:
    'Barthó et al. 2004, J Neurophysiol 92:600 — putative fast-spiking interneurons: narrow spike with a large late positive peak; pyramidal: wide spike, smaller peak',
  henze2000:
    'Henze et al. 2000, J Neurophysiol 84:390 — intracellular–extracellular CA1 recordings: extracellular spike amplitude falls steeply with distance, > 60 µV only within ~50 µm of the soma, a few hundred µV near it',
  pettersenEinevoll2008:
    'Pettersen & Einevoll 2008, Biophys J 94:784 — spike amplitude decays ~1/r close to the soma and ~1/r² to 1/r³ farther out; spike width grows with distance (intrinsic dendritic low-pass filtering)',
  holtKoch1999:
    'Holt & Koch 1999, J Comput Neurosci 6:169 — line-source / point-source approximation of extracellular action potentials in a homogeneous volume conductor (V ∝ I / 4πσr)',
  zhou2014:
    'Zhou et al. 2014, eLife 3:e02536 — awake mice: Purkinje simple spikes ≈ 60 Hz (zebrin+) to ≈ 90 Hz (zebrin−), complex spikes ≈ 1 Hz; simple spikes regular (CV2 well below 1)',
  arancillo2015:
    'Arancillo et al. 2015, J Neurophysiol 113:578 — adult Purkinje simple spikes fire regularly (low CV2) at tens of Hz; complex spike rate ≈ 1 Hz from the third postnatal week on',
  warnaar2015:
    'Warnaar et al. 2015, Front Syst Neurosci 9:122 — complex spikes: an initial spike followed by a variable number of spikelets (typically 1–5), total duration up to ~10 ms; more spikelets, longer CS',
  csPause:
    'Complex-spike-triggered simple-spike pause: a climbing-fibre input is followed by a simple-spike pause of ~10–30 ms (Bell & Grimm 1969; Latham & Paul 1971; used as the PkC_cs ground-truth criterion in Beau et al. 2025, Cell)',
  vos1999:
    'Vos, Volny-Luraghi & De Schutter 1999, Eur J Neurosci 11:2621 — rat Golgi cells at rest fire slowly and rhythmically, 8.4 spikes/s on average',
  ruigrok2011:
    'Ruigrok, Hensbroek & Simpson 2011, J Neurosci 31:712 — identified Golgi cells fire somewhat irregularly at low rates; basket and stellate cells (MLIs) fire irregularly, some very slowly',
  rancz2007:
    'Rancz et al. 2007, Nature 450:1245 — mossy fibre terminals in vivo fire high-frequency bursts (instantaneous rates of several hundred Hz)',
  beau2025:
    'Beau et al. 2025, Cell (C4; science.md §1) — five cerebellar classes PkC_ss, PkC_cs, MLI, GoC, MFB; mossy fibre units recorded as narrow, triphasic axonal spikes',
  jun2017:
    'Jun et al. 2017, Nature 551:232 — Neuropixels 1.0: AP-band input-referred noise of a few µV rms (≈ 5–7 µV in use), 10-bit ADC, gain 500 → 2.34375 µV/bit (protocols.md §4.1)',
  intanRhd:
    'Intan RHD2000 datasheet: 0.195 µV/bit, input-referred noise ≈ 2.4 µV rms; electrode thermal noise adds a few µV',
} as const;

export type SourceKey = keyof typeof SOURCES;
