// Who is on the other end of a long-lived connection (console WebSocket, board event stream). Never a token in the
// URL: the session cookie (browsers send it with the upgrade / EventSource request), an Authorization header
// (clients that can set one), or a one-time ticket from POST /api/auth/ticket (?ticket=, 30 s, single use).
// The connection is tracked so disabling the user or signing out everywhere closes it at once.
import type { FastifyRequest } from 'fastify';
import type { AuthUser } from './user';

export interface LiveAuth {
  /** The user, or null (also for a cookie sent by a page of another origin: cross-site WebSocket hijacking). */
  authenticate(request: FastifyRequest, ticket: string | undefined): Promise<AuthUser | null>;
  /** Closes the connection when the user's access is revoked; call the returned function when it ends. */
  track(userId: number, close: () => void): () => void;
}

export function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (!origin) return true; // not a browser: no ambient cookie abuse to fear
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

// http sits below auth: what it needs of sign-in, tickets and revocation comes in through these ports (src/auth implements them).
export interface LiveAuthDeps {
  signIn: { activeUser(userId: number): Promise<AuthUser | null> };
  /** One-time tickets: the user id a ticket was issued to, or null (unknown, used or expired). */
  tickets: { redeem(ticket: string): Promise<number | null> };
  revocation: { track(userId: number, close: () => void): () => void };
}

export function createLiveAuth(deps: LiveAuthDeps): LiveAuth {
  return {
    async authenticate(request, ticket) {
      if (request.user) {
        if (request.authMethod === 'session' && !sameOrigin(request)) return null;
        return request.user;
      }
      if (!ticket) return null;
      const userId = await deps.tickets.redeem(ticket);
      if (userId === null) return null;
      const user = await deps.signIn.activeUser(userId);
      if (user) {
        request.user = user;
        request.authMethod = 'ticket';
      }
      return user;
    },
    track: (userId, close) => deps.revocation.track(userId, close),
  };
}
