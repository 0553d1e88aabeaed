/**
 * Pulse Pal trigger latency over a real pseudo-terminal: from the moment `trigger()` is called to
 * the moment the emulated Pulse Pal's read of the op 77 bytes returns, both stamped on the same
 * monotonic clock (driver and emulator run in this process, socat relays between the two ptys).
 * Also reports call → write-returned (the ack's hostWriteTimeNs), the part the host controls.
 *
 * This measures the host stack (Node, libuv's thread pool, the pty, socat), not USB: a real
 * Pulse Pal 2 adds its USB CDC transfer and up to one 50 µs firmware cycle.
 *
 *   node --import tsx test/bench/pulsepal-latency.bench.ts [triggers]
 */
import { validate } from '../../src/config/schema.js';
import { systemClock } from '../../src/core/clock.js';
import type { StimulusAck } from '../../src/core/stimulus-sink.js';
import { pulsePalSinkSchema } from '../../drivers/pulsepal/config.js';
import { PulsePalSink } from '../../drivers/pulsepal/pulsepal-sink.js';
import { PtyPair } from '../../sim/devices/pty-pair.js';
import { PulsePalEmulator } from '../../sim/devices/pulsepal/emulator.js';
import { summary } from './stats.js';

const triggers = Math.max(1000, Number(process.argv[2] ?? 2000));
const warmup = 50;

const pair = await PtyPair.create();
const emulator = new PulsePalEmulator({ path: pair.devicePath });
await emulator.start();
const parsed = validate(pulsePalSinkSchema, { kind: 'pulsepal', port: pair.hostPath });
if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
const sink = new PulsePalSink({ name: 'bench', config: parsed.value, log: { warn: () => {} } });
await sink.open();
// A 0.1 ms pulse: every trigger finds the output idle.
await sink.program(0, { pulseWidthMs: 0.1, pulseIntervalMs: 0, pulseCount: 1, delayMs: 0, level: 0.1 });

const receiveUs = new Float64Array(triggers);
const writeReturnUs = new Float64Array(triggers);
let onReceive: ((timeNs: number) => void) | null = null;
emulator.events$.subscribe((e) => {
  if (e.type === 'trigger') onReceive?.(e.timeNs);
});
let lastAck: StimulusAck | null = null;
sink.acks$.subscribe((a) => (lastAck = a));
const cause = { reason: 'bench', streamId: null, sampleIndex: null, sourceReceiveTimeNs: null };

for (let i = -warmup; i < triggers; i++) {
  const received = new Promise<number>((resolve) => (onReceive = resolve));
  const issuedNs = systemClock.nowNs();
  const id = sink.trigger(0b0001, cause);
  const atDeviceNs = await received;
  while ((lastAck as StimulusAck | null)?.requestId !== id) await new Promise((r) => setImmediate(r));
  if (i < 0) continue;
  receiveUs[i] = (atDeviceNs - issuedNs) / 1000;
  writeReturnUs[i] = ((lastAck as unknown as StimulusAck).hostWriteTimeNs - issuedNs) / 1000;
}

console.log(`pulsepal-latency: ${triggers} triggers (op 77, 3 bytes), outputs 1, over a socat pty pair`);
console.log(summary('  trigger() → emulator read returned', receiveUs));
console.log(summary('  trigger() → write returned (ack)  ', writeReturnUs));
await sink.close();
await emulator.close();
await pair.close();
