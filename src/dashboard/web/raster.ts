/**
 * The spike raster: time across, peak channel down (channel 0 at the top), one dot per spike in its
 * unit's cell-type colour. Drawn into a reused ImageData each animation frame: the cost is one
 * pass over the canvas pixels plus one over the spikes in the window, whatever the channel count.
 */
import { UNASSIGNED, packRgba } from './colours.js';
import type { SpikeRing } from './spike-ring.js';

const BACKGROUND = packRgba('#0b0d10');
const GRID = packRgba('#1a1f27');

export class Raster {
  private image: ImageData | null = null;
  private pixels: Uint32Array | null = null;
  private readonly unassigned = packRgba(UNASSIGNED);
  /** Most dots drawn per frame; beyond it, every k-th spike (decimation, counted in `lastStride`). */
  maxDotsPerFrame = 200_000;
  lastDots = 0;
  lastStride = 1;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly windowS: number,
  ) {}

  /** `colourOf(unitId)` gives a packed colour, 0 when unknown. */
  draw(ring: SpikeRing, nowSampleIndex: number, colourOf: (unitId: number) => number): void {
    const w = Math.max(1, this.canvas.clientWidth | 0);
    const h = Math.max(1, this.canvas.clientHeight | 0);
    if (!this.image || this.image.width !== w || this.image.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
      this.image = new ImageData(w, h);
      this.pixels = new Uint32Array(this.image.data.buffer);
    }
    const px = this.pixels!;
    px.fill(BACKGROUND);
    const channels = Math.max(32, Math.ceil((ring.maxChannel + 1) / 32) * 32);
    // Grid: a line every 32 channels and every second.
    for (let c = 32; c < channels; c += 32) {
      const y = Math.floor((c / channels) * h);
      px.fill(GRID, y * w, y * w + w);
    }
    const windowSamples = this.windowS * ring.sampleRateHz;
    const start = nowSampleIndex - windowSamples;
    for (let s = Math.ceil(start / ring.sampleRateHz); s * ring.sampleRateHz < nowSampleIndex; s++) {
      const x = Math.floor(((s * ring.sampleRateHz - start) / windowSamples) * w);
      for (let y = 0; y < h; y += 2) px[y * w + x] = GRID;
    }
    const size = ring.size;
    const stride = size > this.maxDotsPerFrame ? Math.ceil(size / this.maxDotsPerFrame) : 1;
    const dotH = Math.max(1, Math.min(3, Math.floor(h / channels)));
    let dots = 0;
    // Walk back from the newest spike until the window's start (spikes arrive roughly in order).
    for (let k = 0; k < size; k += stride) {
      const at = (ring.written - 1 - k) % ring.capacity;
      const t = ring.sampleIndex[at];
      if (t < start) break;
      if (t > nowSampleIndex) continue;
      const x = Math.floor(((t - start) / windowSamples) * (w - 2));
      const y = Math.floor((ring.channel[at] / channels) * (h - dotH));
      const colour = ring.unit[at] < 0 ? this.unassigned : colourOf(ring.unit[at]) || this.unassigned;
      const i = y * w + x;
      px[i] = colour;
      px[i + 1] = colour;
      if (dotH > 1) {
        px[i + w] = colour;
        px[i + w + 1] = colour;
      }
      dots++;
    }
    this.lastDots = dots;
    this.lastStride = stride;
    this.canvas.getContext('2d')!.putImageData(this.image, 0, 0);
  }
}
