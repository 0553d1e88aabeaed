/**
 * Sanworks Pulse Pal 2 as a StimulusSink (protocols.md §2).
 *
 * - open: handshake (213 72 → 'K' + u32 firmware), refusing Pulse Pal 1 (firmware < 20: other
 *   payload layouts and 8-bit voltages); client name (op 89); then every output is programmed
 *   silent (0 V) and the trigger inputs unlinked, so that nothing stored on the device's SD card
 *   can fire behind optoloop's back.
 * - program: op 73 (all parameters, one confirmation) or op 74 per changed parameter (one
 *   confirmation each), per `programMode`; the driver mirrors what the device holds, because the
 *   device never reports it, and replays it after a reconnection.
 * - trigger: op 77 with the output bitmask, handed to the OS inside `trigger()` (a synchronous
 *   non-blocking write when the link is idle, else queued behind the pending writes); the Pulse
 *   Pal sends no reply, so the ack on `acks$` is stamped when the write returned.
 * - abort: op 80 (stops every train, stays connected). close: op 80 then op 81.
 * - A confirmation missing for `ackTimeoutMs` is E_DEVICE_TIMEOUT and the link is reopened (the
 *   device is hung or the byte stream is out of step; a fresh handshake and program resynchronise).
 */
import type { Observable } from 'rxjs';
import { OptoloopError } from '../../src/core/errors.js';
import type { DeviceStatus } from '../../src/core/status.js';
import type { PulseTrainSpec, SinkInfo, SinkState, StimulusAck, StimulusCause, StimulusSink } from '../../src/core/stimulus-sink.js';
import type { BindingPort } from '../binding/binding.js';
import { reconnectOptions } from '../binding/config.js';
import { DeviceConnection, createLinkCounters, type ConnectionEvent } from '../binding/device-connection.js';
import { SerialBinding } from '../binding/serial-binding.js';
import { systemTimers, type TimerHandle, type Timers } from '../binding/timers.js';
import { ReplyQueue, type ReplyTimes } from '../sink-common/reply-queue.js';
import { SinkAcks, asDeviceError, checkOutputMask, sinkStateError } from '../sink-common/sink-acks.js';
import type { PulsePalSinkConfig } from './config.js';
import {
  MIN_V2_FIRMWARE,
  OP_PROGRAM_ALL,
  OP_PROGRAM_PARAM,
  OUTPUT_COUNT,
  PARAM_CODE_OF,
  encodeAbort,
  encodeClientName,
  encodeHandshake,
  encodeProgramAll,
  encodeProgramParam,
  encodeTrigger,
  type ChannelParams,
  type DeviceProgram,
} from './protocol.js';
import { PulsePalReplyParser } from './reply-parser.js';
import { silentChannel, trainToChannelParams } from './train.js';

const STAGE = 'drivers/pulsepal';

export interface PulsePalSinkOptions {
  /** The sink's name in the rig config. */
  readonly name: string;
  readonly config: PulsePalSinkConfig;
  /** How to reach the port; default the serial binding at `config.port`. */
  readonly openPort?: () => Promise<BindingPort>;
  readonly timers?: Timers;
  readonly openAttempts?: number;
  readonly log?: { warn(message: string): void };
}

interface PendingHandshake {
  readonly resolve: (firmwareVersion: number) => void;
  readonly reject: (error: OptoloopError) => void;
  readonly timer: TimerHandle;
}

export class PulsePalSink implements StimulusSink {
  readonly kind = 'pulsepal';
  readonly name: string;
  readonly acks$: Observable<StimulusAck>;
  readonly connection: DeviceConnection;

  private readonly acks: SinkAcks;
  private readonly config: PulsePalSinkConfig;
  private readonly timers: Timers;
  private readonly parser: PulsePalReplyParser;
  private sinkState: SinkState = 'closed';
  private sinkInfo: SinkInfo | null = null;
  private firmwareVersion: number | null = null;
  /** What the device holds, as far as it confirmed. */
  private readonly mirror: DeviceProgram;
  /** Outputs given a train by `program()`: only these may be triggered. */
  private programmedMask = 0;
  /** Ops written whose 0x01 confirmation has not come yet (the value is the op code). */
  private readonly confirmations: ReplyQueue<number>;
  private pendingHandshake: PendingHandshake | null = null;

  constructor(options: PulsePalSinkOptions) {
    this.name = options.name;
    this.config = options.config;
    this.timers = options.timers ?? systemTimers;
    this.acks = new SinkAcks(this.timers.clock, (error) => this.asError(error));
    this.acks$ = this.acks.acks$;
    this.confirmations = new ReplyQueue<number>({
      timers: this.timers,
      reply: (_op, times) => times,
      write: (bytes) => this.connection.write(bytes),
      asError: (error) => this.asError(error),
      timeoutError: (op, timeoutMs) =>
        new OptoloopError('E_DEVICE_TIMEOUT', `${this.name}: no confirmation (0x01) to op ${op} from ${this.config.port} within ${timeoutMs} ms; reopening the link`, {
          stage: STAGE,
          details: { op, timeoutMs },
        }),
      // Out of step with the device: a fresh handshake and program put us back in step.
      onTimeout: (error) => this.connection.drop(error),
      onAbandoned: () => {
        this.parser.pendingAcks = Math.max(0, this.parser.pendingAcks - 1);
      },
    });
    this.mirror = {
      channels: Array.from({ length: OUTPUT_COUNT }, silentChannel),
      triggerLinks: [
        [0, 0, 0, 0],
        [0, 0, 0, 0],
      ],
      triggerModes: [0, 0],
    };
    const config = options.config;
    const openPort = options.openPort ?? (() => new SerialBinding().open({ path: config.port, baudRate: config.baudRate }));
    const counters = createLinkCounters();
    this.parser = new PulsePalReplyParser(counters, {
      onHandshake: (version, timeNs) => this.onHandshake(version, timeNs),
      onAck: (timeNs) => this.onAck(timeNs),
    });
    this.connection = new DeviceConnection({
      name: options.name,
      kind: 'pulsepal',
      stage: STAGE,
      open: openPort,
      parser: this.parser,
      counters,
      onOpen: (link, isReconnect) => this.initialise(link, isReconnect),
      timers: this.timers,
      openAttempts: options.openAttempts,
      reconnect: reconnectOptions(config.reconnect),
      // A Pulse Pal only speaks when spoken to: silence is not a fault, missing replies are.
      silenceTimeoutMs: null,
      log: options.log,
    });
  }

  get state(): SinkState {
    return this.sinkState;
  }

  get info(): SinkInfo | null {
    return this.sinkInfo;
  }

  /** Link health for the daemon's status message. */
  status(): DeviceStatus & { readonly reconnects: number } {
    return this.connection.status();
  }

  get events$(): Observable<ConnectionEvent> {
    return this.connection.events$;
  }

  async open(): Promise<SinkInfo> {
    if (this.sinkState !== 'closed') throw this.stateError('open');
    try {
      await this.connection.open();
    } catch (error) {
      this.sinkState = 'failed';
      throw error;
    }
    this.sinkState = 'opened';
    this.sinkInfo = {
      description: `Pulse Pal 2 (firmware ${this.firmwareVersion}) on ${this.config.port}`,
      outputCount: OUTPUT_COUNT,
      firmwareVersion: String(this.firmwareVersion),
    };
    return this.sinkInfo;
  }

  /**
   * Stores a train on an output (0-based). Resolves with the acknowledgement, ok or not: a device
   * failure is an ack with ok false (also published on `acks$`). Rejects only for a bad train
   * (E_OPTIONS_INVALID) or a closed sink (E_SINK_STATE).
   */
  async program(output: number, train: PulseTrainSpec): Promise<StimulusAck> {
    if (this.sinkState !== 'opened') throw this.stateError('program');
    if (!Number.isInteger(output) || output < 0 || output >= OUTPUT_COUNT) {
      throw new OptoloopError('E_OPTIONS_INVALID', `${this.name}: output must be an integer 0…${OUTPUT_COUNT - 1}, got ${output}`, { stage: STAGE });
    }
    const params = trainToChannelParams(train, this.config.fullScaleVolts[output]);
    const requestId = this.acks.nextRequestId();
    const mask = 1 << output;
    try {
      let times: ReplyTimes = { writeNs: this.timers.clock.nowNs(), replyNs: this.timers.clock.nowNs() };
      if (this.config.programMode === 'full') {
        const candidate: DeviceProgram = { ...this.mirror, channels: this.mirror.channels.map((c, i) => (i === output ? params : c)) };
        times = await this.request(encodeProgramAll(candidate), OP_PROGRAM_ALL);
      } else {
        const current = this.mirror.channels[output];
        for (const key of Object.keys(PARAM_CODE_OF) as Array<keyof ChannelParams>) {
          if (current[key] === params[key]) continue;
          times = await this.request(encodeProgramParam(PARAM_CODE_OF[key], output + 1, params[key]), OP_PROGRAM_PARAM);
          current[key] = params[key];
        }
      }
      this.mirror.channels[output] = params;
      this.programmedMask |= mask;
      return this.acks.publish(this.acks.ack(requestId, 'program', mask, times.writeNs, times.replyNs, null, null));
    } catch (error) {
      return this.acks.publish(this.acks.failure(requestId, 'program', mask, null, error));
    }
  }

  /**
   * Fires the programmed trains of the outputs in `outputMask` (bit n = output n). The op 77 write
   * is issued before this returns; the ack follows on `acks$` once the write returned.
   */
  trigger(outputMask: number, cause: StimulusCause): number {
    if (this.sinkState !== 'opened') throw this.stateError('trigger');
    checkOutputMask(this.name, STAGE, outputMask, OUTPUT_COUNT);
    const requestId = this.acks.nextRequestId();
    const unprogrammed = outputMask & ~this.programmedMask;
    if (unprogrammed !== 0) {
      const error = new OptoloopError('E_SINK_STATE', `${this.name}: output ${Math.log2(unprogrammed & -unprogrammed)} has no pulse train programmed; nothing was triggered`, {
        stage: STAGE,
      });
      this.acks.failLater(requestId, 'trigger', outputMask, cause, error);
      return requestId;
    }
    const pending = this.connection.writeNow(encodeTrigger(outputMask));
    if (pending === null) {
      // The bytes are with the OS already: stamp now; acknowledge once trigger() has returned the id.
      const nowNs = this.timers.clock.nowNs();
      const ack = this.acks.ack(requestId, 'trigger', outputMask, nowNs, nowNs, cause, null);
      queueMicrotask(() => this.acks.publish(ack));
      return requestId;
    }
    pending.then(
      () => {
        const nowNs = this.timers.clock.nowNs();
        this.acks.publish(this.acks.ack(requestId, 'trigger', outputMask, nowNs, nowNs, cause, null));
      },
      (error: unknown) => this.acks.publish(this.acks.failure(requestId, 'trigger', outputMask, cause, error)),
    );
    return requestId;
  }

  /** Stops every output now (op 80). */
  async abort(): Promise<StimulusAck> {
    if (this.sinkState !== 'opened') throw this.stateError('abort');
    const requestId = this.acks.nextRequestId();
    const all = (1 << OUTPUT_COUNT) - 1;
    try {
      await this.connection.write(encodeAbort());
      const nowNs = this.timers.clock.nowNs();
      return this.acks.publish(this.acks.ack(requestId, 'abort', all, nowNs, nowNs, null, null));
    } catch (error) {
      return this.acks.publish(this.acks.failure(requestId, 'abort', all, null, error));
    }
  }

  async close(): Promise<void> {
    if (this.sinkState === 'closed' && !this.connection.isConnected) {
      await this.connection.close();
      this.acks.complete();
      return;
    }
    if (this.connection.isConnected) {
      // Best effort: stop any train and release the device's screen.
      await this.connection.write(encodeAbort()).catch(() => undefined);
      await this.connection.write(Uint8Array.of(213, 81)).catch(() => undefined);
    }
    this.sinkState = 'closed';
    await this.connection.close();
    this.acks.complete();
  }

  // ---------------------------------------------------------------------------------------------

  /** Handshake, client name and the mirrored program: after every (re)open. */
  private async initialise(link: DeviceConnection, isReconnect: boolean): Promise<void> {
    link.onLoss((error) => this.failAllPending(error));
    const version = await new Promise<number>((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        this.pendingHandshake = null;
        this.parser.awaitingHandshake = false;
        reject(
          new OptoloopError('E_DEVICE_TIMEOUT', `${this.name}: no handshake reply from ${this.config.port} within ${this.config.handshakeTimeoutMs} ms (is it a Pulse Pal?)`, {
            stage: STAGE,
            details: { port: this.config.port, timeoutMs: this.config.handshakeTimeoutMs },
          }),
        );
      }, this.config.handshakeTimeoutMs);
      this.pendingHandshake = { resolve, reject, timer };
      this.parser.awaitingHandshake = true;
      link.write(encodeHandshake()).catch((error: unknown) => this.failHandshake(this.asError(error)));
    });
    if (version < MIN_V2_FIRMWARE) {
      throw new OptoloopError(
        'E_DEVICE_PROTOCOL',
        `${this.name}: the device on ${this.config.port} is a Pulse Pal 1 (firmware ${version}); optoloop drives Pulse Pal 2 only (firmware ≥ ${MIN_V2_FIRMWARE}), whose program layout and 16-bit voltages differ`,
        { stage: STAGE, details: { firmwareVersion: version, expected: `≥ ${MIN_V2_FIRMWARE}` } },
      );
    }
    this.firmwareVersion = version;
    await link.write(encodeClientName(this.config.clientName));
    // A reconnected Pulse Pal may have been power-cycled and reloaded its SD program: replay ours.
    await this.request(encodeProgramAll(this.mirror), OP_PROGRAM_ALL);
    if (isReconnect) link.warn(`${this.name}: reconnected to Pulse Pal 2 (firmware ${version}); programmed outputs restored`);
  }

  private onHandshake(firmwareVersion: number, _timeNs: number): void {
    const pending = this.pendingHandshake;
    if (!pending) return;
    this.pendingHandshake = null;
    this.timers.clearTimeout(pending.timer);
    pending.resolve(firmwareVersion);
  }

  private failHandshake(error: OptoloopError): void {
    const pending = this.pendingHandshake;
    if (!pending) return;
    this.pendingHandshake = null;
    this.parser.awaitingHandshake = false;
    this.timers.clearTimeout(pending.timer);
    pending.reject(error);
  }

  /** Writes an op that the device confirms with 0x01 and waits for the confirmation. */
  private request(bytes: Uint8Array, op: number): Promise<ReplyTimes> {
    this.parser.pendingAcks++;
    return this.confirmations.send(op, bytes, this.config.ackTimeoutMs);
  }

  private onAck(timeNs: number): void {
    this.confirmations.resolveHead(timeNs);
  }

  private failAllPending(error: OptoloopError): void {
    this.failHandshake(error);
    this.confirmations.failAll(error);
  }

  private stateError(action: string): OptoloopError {
    return sinkStateError(this.name, STAGE, action, this.sinkState);
  }

  private asError(error: unknown): OptoloopError {
    return asDeviceError(this.name, STAGE, error);
  }
}
