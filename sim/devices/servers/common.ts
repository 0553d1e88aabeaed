/**
 * What the served devices share: the rig-config snippet they print, how the user's fault switches
 * map onto each emulator's own fault injection, and a timer for the periodic `disconnect` fault.
 */
import type { WriteFaults } from '../common/faulty-writer.js';
import type { LinkFaults } from '../emulator-link.js';
import type { ServeContext } from '../../serve.js';

type Flow = string | number | boolean | null | readonly Flow[] | { readonly [key: string]: Flow };

/** A value as YAML flow (one line), e.g. `{ kind: pulsepal, port: /tmp/x/pulsepal }`. */
export function yamlFlow(value: Flow): string {
  if (value === null) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') {
    // Plain when YAML reads it back as the same string, else JSON-quoted (valid YAML too).
    const plain = /^[\w/.][\w./@+-]*$/.test(value) && !Number.isFinite(Number(value)) && !/^(true|false|null|yes|no|on|off|y|n)$/i.test(value);
    return plain ? value : JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(yamlFlow).join(', ')}]`;
  const entries = Object.entries(value as Record<string, Flow>);
  return `{ ${entries.map(([k, v]) => `${k}: ${yamlFlow(v)}`).join(', ')} }`;
}

/** Faults on a TCP emulator's writes (FaultyWriter). */
export function tcpFaults(context: ServeContext, garbageKind: 'binary' | 'non-printable', salt: number): WriteFaults {
  return {
    fragment: context.faults.has('fragment') ? 'random' : 'none',
    maxFragmentBytes: 64,
    garbageProbability: context.faults.has('garbage') ? 0.02 : 0,
    maxGarbageBytes: 16,
    garbageKind,
    seed: context.seed * 7919 + salt,
  };
}

/** Faults on a serial emulator's link (EmulatorLink). */
export function serialFaults(context: ServeContext): Partial<LinkFaults> {
  return {
    fragmentation: context.faults.has('fragment') ? 'random' : 'none',
    maxFragmentBytes: 7,
    garbageProbability: context.faults.has('garbage') ? 0.05 : 0,
    garbageMaxBytes: 8,
    fragmentGapMs: context.faults.has('fragment') ? 1 : 0,
  };
}

/** Which of the user's faults a device applies, for its notes line. */
export function faultNote(context: ServeContext, what: Partial<Record<'fragment' | 'garbage' | 'disconnect', string>>): string[] {
  const on = [...context.faults].filter((f) => what[f]).map((f) => what[f] as string);
  return on.length ? [`faults: ${on.join('; ')}`] : [];
}

/**
 * Runs `drop` every `faultIntervalMs` while the device serves (the `disconnect` fault); nothing
 * when that fault is off. Returns the function that stops it: it waits for a drop under way (an
 * unplug waiting to replug) to finish, so that nothing is restarted after the device is closed.
 */
export function everyInterval(context: ServeContext, drop: () => Promise<void> | void): () => Promise<void> {
  if (!context.faults.has('disconnect')) return async () => {};
  let current: Promise<void> | null = null;
  let stopped = false;
  const timer = setInterval(() => {
    if (current || stopped) return;
    current = Promise.resolve()
      .then(drop)
      .catch((error: unknown) => context.log(`disconnect fault failed: ${(error as Error).message}`))
      .finally(() => (current = null));
  }, context.faultIntervalMs);
  return async () => {
    stopped = true;
    clearInterval(timer);
    await current;
  };
}

/** How long a device stays gone in the disconnect fault. */
export const VANISH_MS = 1000;

/** The disconnect fault of a device that can vanish and come back: gone for VANISH_MS every fault interval. */
export function vanishEvery(context: ServeContext, vanish: () => Promise<void>, reappear: () => Promise<void>): () => Promise<void> {
  return everyInterval(context, async () => {
    await vanish();
    await new Promise((r) => setTimeout(r, VANISH_MS));
    await reappear();
  });
}
