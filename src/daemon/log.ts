/**
 * The daemon's log: one line per event, `HH:MM:SS.mmm level stage: message`, to stderr by default.
 * Injectable so that tests read what the daemon said instead of scraping a terminal.
 */
export type LogLevel = 'info' | 'warn' | 'error';

export interface DaemonLog {
  line(level: LogLevel, stage: string, message: string): void;
}

export function consoleLog(write: (text: string) => void = (t) => process.stderr.write(t)): DaemonLog {
  return {
    line(level, stage, message) {
      const time = new Date().toISOString().slice(11, 23);
      write(`${time} ${level.padEnd(5)} ${stage}: ${message}\n`);
    },
  };
}

/** Keeps lines in memory: for tests. */
export class MemoryLog implements DaemonLog {
  readonly lines: { level: LogLevel; stage: string; message: string }[] = [];
  line(level: LogLevel, stage: string, message: string): void {
    this.lines.push({ level, stage, message });
  }
  text(): string {
    return this.lines.map((l) => `${l.level} ${l.stage}: ${l.message}`).join('\n');
  }
}
