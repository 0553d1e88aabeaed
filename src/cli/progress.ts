/**
 * A one-line progress bar for long runs (replay, detection over a file), redrawn in place on a
 * terminal at most every `minRedrawIntervalMs` (default 100 ms, i.e. ~10×/s) so that drawing never
 * costs more than the work it reports:
 *
 * ```
 * replay [##########--------------]  42.0%  0:12.6 / 0:30.0  4.1× real time  ETA 0:04
 * ```
 *
 * Speed is stream time over wall time since the first update; the ETA is the remaining stream
 * time at that speed. When the output is not a terminal nothing is printed at all (logs and pipes
 * stay clean). Output and clock are injected, so tests run without a terminal or real time.
 */
import { systemClock, type MonotonicClock } from '../core/clock.js';

export interface ProgressBarOptions {
  /** Where the bar is drawn (e.g. the CLI's stderr writer). */
  readonly out: (text: string) => void;
  /** Draw only when true (a terminal). */
  readonly isTty: boolean;
  readonly sampleRateHz: number;
  /** Frames in the whole run; null when unknown (looping): no fraction, no ETA. */
  readonly totalFrames: number | null;
  readonly clock?: MonotonicClock;
  readonly minRedrawIntervalMs?: number;
  /** Characters inside the brackets. */
  readonly width?: number;
  readonly label?: string;
}

export class ProgressBar {
  private readonly clock: MonotonicClock;
  private readonly minIntervalNs: number;
  private readonly width: number;
  private startNs: number | null = null;
  private lastDrawNs = -Infinity;
  private lastLength = 0;
  private frames = 0;
  private finished = false;

  constructor(private readonly options: ProgressBarOptions) {
    this.clock = options.clock ?? systemClock;
    this.minIntervalNs = (options.minRedrawIntervalMs ?? 100) * 1e6;
    this.width = Math.max(5, options.width ?? 24);
  }

  /** Reports frames done so far; draws if the last draw is old enough. Cheap to call per block. */
  update(framesDone: number): void {
    if (!this.options.isTty || this.finished) return;
    this.frames = framesDone;
    const now = this.clock.nowNs();
    if (this.startNs === null) this.startNs = now;
    if (now - this.lastDrawNs < this.minIntervalNs) return;
    this.lastDrawNs = now;
    this.draw(now);
  }

  /** Draws the final state and ends the line. */
  finish(framesDone: number = this.frames): void {
    if (!this.options.isTty || this.finished) return;
    this.frames = framesDone;
    const now = this.clock.nowNs();
    if (this.startNs === null) this.startNs = now;
    this.draw(now);
    this.options.out('\n');
    this.finished = true;
  }

  /** Erases the bar (before printing something else on the terminal); the next update redraws it. */
  clear(): void {
    if (!this.options.isTty || this.lastLength === 0) return;
    this.options.out('\r\x1b[K');
    this.lastLength = 0;
    this.lastDrawNs = -Infinity;
  }

  /** The text of the bar for the given state (exposed for tests and other renderers). */
  render(framesDone: number, elapsedS: number): string {
    const { sampleRateHz, totalFrames } = this.options;
    const streamS = framesDone / sampleRateHz;
    const parts: string[] = [];
    if (this.options.label) parts.push(this.options.label);
    const speed = elapsedS > 0 ? streamS / elapsedS : null;
    if (totalFrames !== null && totalFrames > 0) {
      const fraction = Math.min(1, Math.max(0, framesDone / totalFrames));
      const filled = Math.round(fraction * this.width);
      parts.push(`[${'#'.repeat(filled)}${'-'.repeat(this.width - filled)}]`);
      parts.push(`${(fraction * 100).toFixed(1).padStart(5)}%`);
      parts.push(`${formatDuration(streamS)} / ${formatDuration(totalFrames / sampleRateHz)}`);
    } else {
      parts.push(formatDuration(streamS));
    }
    parts.push(speed === null ? '--× real time' : `${speed >= 10 ? speed.toFixed(0) : speed.toFixed(1)}× real time`);
    if (totalFrames !== null && totalFrames > 0) {
      const remainingS = Math.max(0, totalFrames - framesDone) / sampleRateHz;
      parts.push(speed && speed > 0 ? `ETA ${formatDuration(remainingS / speed, false)}` : 'ETA --');
    }
    return parts.join('  ');
  }

  private draw(now: number): void {
    const text = this.render(this.frames, (now - (this.startNs ?? now)) / 1e9);
    this.options.out(`\r${text}\x1b[K`);
    this.lastLength = text.length;
  }
}

/** `m:ss.s` (or `h:mm:ss` from an hour); whole seconds, rounded up, when `tenths` is false. */
export function formatDuration(seconds: number, tenths = true): string {
  const s = tenths ? Math.floor(Math.max(0, seconds) * 10) / 10 : Math.ceil(Math.max(0, seconds) - 1e-9);
  if (s >= 3600) {
    const whole = Math.floor(s);
    const h = Math.floor(whole / 3600);
    const m = Math.floor((whole % 3600) / 60);
    return `${h}:${String(m).padStart(2, '0')}:${String(whole % 60).padStart(2, '0')}`;
  }
  const m = Math.floor(s / 60);
  const rest = s - m * 60;
  return `${m}:${tenths ? rest.toFixed(1).padStart(4, '0') : String(rest).padStart(2, '0')}`;
}
