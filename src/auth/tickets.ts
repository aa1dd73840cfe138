// One-time tickets for clients that authenticate with a bearer token but cannot set a header (a WebSocket or an
// EventSource in a browser-like client): POST /api/auth/ticket with the token, then ?ticket=… within 30 s, once.
// Only the ticket's hash is stored; GETDEL makes it single-use across processes.
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from '../infra/redis';

export const TICKET_TTL_SEC = 30;

const keyOf = (ticket: string) => `ticket:${createHash('sha256').update(ticket).digest('hex')}`;

export function createTickets(redis: Redis) {
  return {
    async issue(userId: number): Promise<{ ticket: string; expiresInSec: number }> {
      const ticket = `t_${randomBytes(24).toString('base64url')}`;
      await redis.set(keyOf(ticket), String(userId), 'EX', TICKET_TTL_SEC);
      return { ticket, expiresInSec: TICKET_TTL_SEC };
    },
    /** The user id the ticket was issued to, or null (unknown, used or expired). */
    async redeem(ticket: string): Promise<number | null> {
      if (!/^t_[\w-]{20,64}$/.test(ticket)) return null;
      const v = await redis.getdel(keyOf(ticket));
      return v ? Number(v) : null;
    },
  };
}

export type Tickets = ReturnType<typeof createTickets>;
