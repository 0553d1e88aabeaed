/**
 * Token authentication for bus clients. Each presented token is hashed and compared with the hash
 * of every configured token using a constant-time comparison, always against all of them, so that
 * neither the time taken nor an early exit tells an attacker how much of a guess was right or which
 * entry it came close to.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { BusPermission, BusTokenConfig } from './config.js';

export interface AuthenticatedIdentity {
  readonly tokenName: string;
  readonly permissions: ReadonlySet<BusPermission>;
}

interface Entry {
  readonly digest: Buffer;
  readonly identity: AuthenticatedIdentity;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export class TokenAuthenticator {
  private readonly entries: Entry[];

  constructor(tokens: readonly BusTokenConfig[]) {
    this.entries = tokens.map((t) => ({
      digest: digest(t.token),
      identity: {
        tokenName: t.name,
        // stimulate implies command: a client allowed to cause light may also stop things.
        permissions: new Set<BusPermission>(t.permissions.includes('stimulate') ? [...t.permissions, 'command'] : t.permissions),
      },
    }));
  }

  /** Adds a token at run time (the daemon's generated dashboard token). */
  add(token: BusTokenConfig): void {
    this.entries.push(...new TokenAuthenticator([token]).entries);
  }

  /** The identity a token grants, or null. Takes the same time whichever entry (if any) matches. */
  authenticate(presented: string): AuthenticatedIdentity | null {
    const candidate = digest(presented);
    let match: AuthenticatedIdentity | null = null;
    for (const entry of this.entries) {
      if (timingSafeEqual(candidate, entry.digest) && match === null) match = entry.identity;
    }
    return match;
  }

  get size(): number {
    return this.entries.length;
  }
}
