/**
 * The page's bus connection: browser WebSocket, the 16-byte frame header from bus/wire.ts, and
 * protobufjs (global) over the schema fetched from the server. Reconnects after a lost connection,
 * but not after an authentication failure.
 */
import { HEADER_BYTES, Topic, checkHeader, readHeader, writeHeader } from '../../bus/wire.js';

// Decoded protobuf messages are untyped reflection objects.
type Msg = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface BusHandlers {
  welcome(m: Msg): void;
  spikes(m: Msg): void;
  units(m: Msg): void;
  stimulus(m: Msg): void;
  bci(m: Msg): void;
  status(m: Msg): void;
  dropped(m: Msg): void;
  error(code: string, message: string): void;
  connection(state: 'connecting' | 'open' | 'closed' | 'refused', detail: string): void;
}

export interface CommandOutcome {
  readonly ok: boolean;
  readonly code: string;
  readonly message: string;
}

const PKG = 'optoloop.bus.v1.';

export class DashboardBus {
  private socket: WebSocket | null = null;
  private types: Record<string, ProtoType> = {};
  private sequence = 0;
  private nextRequestId = 1;
  private readonly pending = new Map<number, (o: CommandOutcome) => void>();
  private refused = false;
  private retryMs = 1000;

  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly handlers: BusHandlers,
  ) {}

  async start(): Promise<void> {
    const source = await (await fetch('/optoloop.proto')).text();
    const root = protobuf.parse(source).root;
    for (const name of ['ClientMessage', 'ServerMessage', 'BusError', 'SpikeBatch', 'UnitUpdate', 'StimulusEvent', 'BciOutput', 'Status']) {
      this.types[name] = root.lookupType(PKG + name);
    }
    this.open();
  }

  command(body: object): Promise<CommandOutcome> {
    const requestId = this.nextRequestId++;
    return new Promise((resolve) => {
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
        resolve({ ok: false, code: 'E_DEVICE_DISCONNECTED', message: 'not connected to the bus' });
        return;
      }
      this.pending.set(requestId, resolve);
      this.send({ command: { requestId, ...body } });
    });
  }

  private open(): void {
    this.handlers.connection('connecting', this.url);
    const socket = new WebSocket(this.url);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => this.send({ hello: { token: this.token, clientName: 'dashboard' } });
    socket.onmessage = (event) => this.onFrame(new Uint8Array(event.data as ArrayBuffer));
    socket.onclose = (event) => {
      for (const resolve of this.pending.values()) resolve({ ok: false, code: 'E_DEVICE_DISCONNECTED', message: 'connection lost' });
      this.pending.clear();
      if (this.refused) {
        this.handlers.connection('refused', event.reason || 'refused');
        return;
      }
      this.handlers.connection('closed', `closed (${event.code}); retrying in ${this.retryMs / 1000} s`);
      setTimeout(() => this.open(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 10_000);
    };
  }

  private send(body: object): void {
    const payload = this.types.ClientMessage.encode(body).finish();
    const frame = new Uint8Array(HEADER_BYTES + payload.length);
    writeHeader(frame, 0, Topic.control, 0, this.sequence++, payload.length);
    frame.set(payload, HEADER_BYTES);
    this.socket?.send(frame);
  }

  private onFrame(frame: Uint8Array): void {
    if (checkHeader(frame) !== null) return;
    const payload = frame.subarray(HEADER_BYTES);
    const h = this.handlers;
    const t = this.types;
    switch (readHeader(frame).topic) {
      case Topic.spikes: return h.spikes(t.SpikeBatch.decode(payload));
      case Topic.units: return h.units(t.UnitUpdate.decode(payload));
      case Topic.stimulus: return h.stimulus(t.StimulusEvent.decode(payload));
      case Topic.bci: return h.bci(t.BciOutput.decode(payload));
      case Topic.status: return h.status(t.Status.decode(payload));
      case Topic.error: {
        const e = t.BusError.decode(payload);
        if (e.code === 'E_BUS_AUTH') this.refused = true;
        const resolve = e.requestId ? this.pending.get(e.requestId) : undefined;
        if (resolve) {
          this.pending.delete(e.requestId);
          resolve({ ok: false, code: e.code, message: e.message });
        } else h.error(e.code, e.message);
        return;
      }
      case Topic.control: {
        const m = t.ServerMessage.decode(payload);
        if (m.body === 'welcome') {
          this.retryMs = 1000;
          h.connection('open', this.url);
          h.welcome(m.welcome);
          // Subscribe to what the token allows; a read-less token just gets an error frame back.
          this.send({ subscribe: { topics: [Topic.spikes, Topic.units, Topic.stimulus, Topic.bci, Topic.status] } });
        } else if (m.body === 'commandResult') {
          const r = m.commandResult;
          const resolve = this.pending.get(r.requestId);
          this.pending.delete(r.requestId);
          resolve?.({ ok: r.ok, code: r.code, message: r.message });
        } else if (m.body === 'dropped') {
          h.dropped(m.dropped);
        }
        return;
      }
    }
  }
}
