// "Stop now" for a user's live connections: when a user is disabled, signs out everywhere or gets a new password,
// every process drops its cached token lookups and closes that user's open WebSockets and event streams.
// The decision itself is already in PostgreSQL; this only makes it take effect without waiting for a reconnect.
import type { Logger } from '../infra/logger';
import type { Redis } from '../infra/redis';

export function createRevocation(deps: { pub: Redis; sub: Redis; channel: string; logger: Logger; onRevoked: (userId: number) => void }) {
  const live = new Map<number, Set<() => void>>();

  function closeLocal(userId: number) {
    deps.onRevoked(userId);
    const set = live.get(userId);
    if (!set) return;
    live.delete(userId);
    for (const close of set) {
      try {
        close();
      } catch (err) {
        deps.logger.warn({ err, userId }, 'could not close a revoked connection');
      }
    }
  }

  const ready = deps.sub.subscribe(deps.channel).catch((err: unknown) => deps.logger.warn({ err }, 'auth revocation subscribe failed'));
  deps.sub.on('message', (channel: string, message: string) => {
    if (channel !== deps.channel) return;
    const userId = Number(message);
    if (Number.isInteger(userId)) closeLocal(userId);
  });

  return {
    ready,
    /** Registers a live connection of a user; returns the function that unregisters it (call on close). */
    track(userId: number, close: () => void): () => void {
      let set = live.get(userId);
      if (!set) live.set(userId, (set = new Set()));
      set.add(close);
      return () => {
        const s = live.get(userId);
        s?.delete(close);
        if (s && s.size === 0) live.delete(userId);
      };
    },
    /** Takes effect here at once and in every other process as soon as Redis delivers the message. */
    revoke(userId: number): void {
      closeLocal(userId);
      deps.pub.publish(deps.channel, String(userId)).catch((err: unknown) => {
        // Other processes then still refuse the user within their token cache TTL (sessions: at once, from PostgreSQL).
        deps.logger.warn({ err, userId }, 'could not publish auth revocation');
      });
    },
  };
}

export type Revocation = ReturnType<typeof createRevocation>;
