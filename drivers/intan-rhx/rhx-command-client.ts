import { OptoloopError } from '../../src/core/errors.js';
import { isReadCancelled, type BindingPort } from '../binding/binding.js';
import type { Timers, TimerHandle } from '../binding/timers.js';


/**
 * Commands to the RHX command server (port 5000, protocols §1.2).
 *
 * RHX replies without any terminator — a `get` answers `Return: <Name> <Value>`, a successful
 * `set`/`execute` answers nothing, an error is free text — so a reply cannot be framed by itself.
 * We frame each command by a sentinel: every command is sent as `<command>;get RunMode;`, and RHX
 * answers commands of one chunk in order. `get RunMode` always answers `Return: RunMode <Run|Stop|
 * Record|Trigger>`, a value from a fixed set none of which is a prefix of another, so the reply
 * is complete exactly when the received text ends with that sentinel reply (counted, in case the
 * command itself was `get RunMode`). Whatever precedes the sentinel is the command's own reply:
 * `Return: …` for a get, nothing for a successful set/execute, anything else an error
 * (E_DEVICE_REFUSED with RHX's text). No reply within `timeoutMs` is E_DEVICE_TIMEOUT and ends the
 * session (the port is closed), since the device's state is then unknown.
 *
 * Bytes outside printable ASCII (and tab/CR/LF) never occur in RHX's replies: they are dropped and
 * counted as garbage, as is text that arrives between commands.
 */
export class RhxCommandClient {
  garbageBytes = 0;
  bytesReceived = 0;
  /** Rejects when the command port fails (device gone) — the session's failure signal. */
  readonly failed: Promise<never>;
  private text = '';
  private waiter: { sentinels: number; resolve: (text: string) => void } | null = null;
  private readonly readBuffer = new Uint8Array(4096);
  private failure: OptoloopError | null = null;
  private rejectFailed: (error: OptoloopError) => void = () => {};
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly port: BindingPort,
    private readonly timers: Timers,
    private readonly timeoutMs: number,
    private readonly stage: string,
  ) {
    this.failed = new Promise<never>((_, reject) => (this.rejectFailed = reject));
    // Observed by the session; marked handled so that a failure nobody awaits is not reported twice.
    this.failed.catch(() => undefined);
    void this.readLoop();
  }

  /**
   * Sends one command (`get X`, `set X Y`, `execute X`) and waits for its framed reply. Returns
   * the value of a `get` (the text after `Return: <Name> `) or null for set/execute.
   */
  execute(command: string): Promise<string | null> {
    const run = this.chain.then(() => this.transact(command));
    this.chain = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.port.close();
  }

  private async transact(command: string): Promise<string | null> {
    if (this.failure) throw this.failure;
    if (this.text.length) {
      this.garbageBytes += this.text.length;
      this.text = '';
    }
    const isGetRunMode = /^\s*get\s+runmode\s*$/i.test(command);
    const reply = new Promise<string>((resolve) => (this.waiter = { sentinels: isGetRunMode ? 2 : 1, resolve }));
    let timer: TimerHandle | null = null;
    const timeout = new Promise<never>((_, reject) => {
      timer = this.timers.setTimeout(() => {
        const received = this.text;
        const error = new OptoloopError(
          'E_DEVICE_TIMEOUT',
          `${this.port.path}: no complete reply to "${command}" within ${this.timeoutMs} ms${received ? ` (received ${JSON.stringify(received.slice(0, 120))})` : ''}`,
          { stage: this.stage, details: { path: this.port.path, command, timeoutMs: this.timeoutMs, received } },
        );
        this.fail(error);
        reject(error);
      }, this.timeoutMs);
    });
    try {
      await this.port.write(new TextEncoder().encode(`${command};get RunMode;`));
      const text = await Promise.race([reply, timeout, this.failed]);
      return this.interpret(command, text);
    } finally {
      if (timer) this.timers.clearTimeout(timer);
      this.waiter = null;
    }
  }

  private interpret(command: string, text: string): string | null {
    const sentinelAt = text.search(/Return: RunMode (Run|Stop|Record|Trigger)$/i);
    const body = text.slice(0, sentinelAt).trim();
    const verb = command.trim().split(/\s+/)[0].toLowerCase();
    const refused = (): OptoloopError =>
      new OptoloopError('E_DEVICE_REFUSED', `${this.port.path}: RHX refused "${command}": ${body}`, {
        stage: this.stage,
        details: { path: this.port.path, command, reply: body },
      });
    if (verb === 'get') {
      const name = command.trim().split(/\s+/)[1] ?? '';
      const m = /^Return:\s*(.*)$/is.exec(body);
      if (!m) throw refused();
      const rest = m[1];
      // `Return: <Name> <Value>`; a few gets answer `Return: <Value>` alone.
      return rest.toLowerCase().startsWith(`${name.toLowerCase()} `) ? rest.slice(name.length + 1).trim() : rest.trim();
    }
    if (body.length > 0) throw refused();
    return null;
  }

  private async readLoop(): Promise<void> {
    try {
      for (;;) {
        const { bytesRead } = await this.port.read(this.readBuffer, 0, this.readBuffer.length);
        this.bytesReceived += bytesRead;
        this.accept(bytesRead);
      }
    } catch (error) {
      if (this.closed && isReadCancelled(error)) {
        this.fail(error as OptoloopError);
        return;
      }
      this.fail(
        error instanceof OptoloopError
          ? error
          : new OptoloopError('E_DEVICE_DISCONNECTED', `${this.port.path}: ${(error as Error).message}`, { stage: this.stage, cause: error }),
      );
    }
  }

  private accept(count: number): void {
    const b = this.readBuffer;
    let chunk = '';
    for (let i = 0; i < count; i++) {
      const c = b[i];
      if ((c >= 0x20 && c <= 0x7e) || c === 0x09 || c === 0x0a || c === 0x0d) chunk += String.fromCharCode(c);
      else this.garbageBytes++;
    }
    this.text += chunk;
    const w = this.waiter;
    if (!w) return;
    if (!/Return: RunMode (Run|Stop|Record|Trigger)$/i.test(this.text)) return;
    const count2 = this.text.match(/Return: RunMode (Run|Stop|Record|Trigger)/gi)?.length ?? 0;
    if (count2 < w.sentinels) return;
    const text = this.text;
    this.text = '';
    this.waiter = null;
    w.resolve(text);
  }

  private fail(error: OptoloopError): void {
    if (this.failure) return;
    this.failure = error;
    if (!this.closed) void this.port.close().catch(() => undefined);
    this.rejectFailed(error);
  }
}
