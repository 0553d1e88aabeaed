/** Small canvas plots for the unit panel and the latency histogram. */

function prepare(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const ratio = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const h = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, canvas.clientWidth, canvas.clientHeight);
  return ctx;
}

function caption(ctx: CanvasRenderingContext2D, text: string, x: number, y: number): void {
  ctx.fillStyle = '#8a94a3';
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillText(text, x, y);
}

export function drawLine(canvas: HTMLCanvasElement, values: ArrayLike<number>, colour: string, label: string): void {
  const ctx = prepare(canvas);
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (values.length < 2) return caption(ctx, 'no data', 8, 16);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  const span = hi - lo || 1;
  ctx.strokeStyle = '#2a3039';
  const zeroY = h - 6 - ((0 - lo) / span) * (h - 12);
  if (lo < 0 && hi > 0) {
    ctx.beginPath();
    ctx.moveTo(0, zeroY);
    ctx.lineTo(w, zeroY);
    ctx.stroke();
  }
  ctx.strokeStyle = colour;
  ctx.lineWidth = 2;
  ctx.beginPath();
  for (let i = 0; i < values.length; i++) {
    const x = (i / (values.length - 1)) * (w - 8) + 4;
    const y = h - 6 - ((values[i] - lo) / span) * (h - 12);
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  }
  ctx.stroke();
  caption(ctx, label, 6, 12);
}

/** Bars; `markerAt` (0…1 of the width) draws a vertical line, e.g. the light onset. */
export function drawBars(canvas: HTMLCanvasElement, counts: ArrayLike<number>, colour: string, label: string, markerAt: number | null = null): void {
  const ctx = prepare(canvas);
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (counts.length === 0) return caption(ctx, 'no data', 8, 16);
  let hi = 0;
  for (let i = 0; i < counts.length; i++) hi = Math.max(hi, counts[i]);
  const barW = (w - 8) / counts.length;
  ctx.fillStyle = colour;
  for (let i = 0; i < counts.length; i++) {
    const bh = hi > 0 ? (counts[i] / hi) * (h - 18) : 0;
    ctx.fillRect(4 + i * barW, h - 4 - bh, Math.max(1, barW - 1), bh);
  }
  if (markerAt !== null) {
    ctx.strokeStyle = '#4cc3ff';
    ctx.beginPath();
    ctx.moveTo(4 + markerAt * (w - 8), 0);
    ctx.lineTo(4 + markerAt * (w - 8), h);
    ctx.stroke();
  }
  caption(ctx, label, 6, 12);
}
