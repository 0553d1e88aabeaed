import type { CliIo } from '../../src/cli/command.js';

/** A CliIo that keeps what a command printed, and can be interrupted like Ctrl-C. */
export function captureIo(): CliIo & { stdout: string; stderr: string; interrupt(): void } {
  let interrupt: () => void = () => {};
  const interrupted = new Promise<void>((resolve) => (interrupt = resolve));
  const io = {
    stdout: '',
    stderr: '',
    isTty: false,
    interrupted,
    interrupt: () => interrupt(),
    out: (t: string) => void (io.stdout += t),
    err: (t: string) => void (io.stderr += t),
  };
  return io;
}
