// Bearer-token authentication for every route, and the role guard routes put in their onRequest.
//   fastify.get('/api/x', { onRequest: requireRoles('agent', 'supervisor') }, handler)
// request.user is set (or null) before any route hook runs; requireRoles() answers 401 / 403.
import type { FastifyRequest } from 'fastify';
import type { FastifyTypeBox } from './types';
import type { AuthUser, Role } from './user';
import { ForbiddenError, ServiceUnavailableError, UnauthorizedError } from '../infra/errors';
import { markRoleGuard } from './access';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user, or null (no or invalid token). Use requireRoles() to insist on one. */
    user: AuthUser | null;
  }
}

/** The token of an "Authorization: Bearer <token>" header, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}

/** What authentication needs from the auth service (src/auth): a token → its user, or null. */
export interface TokenAuthenticator {
  authenticateToken(token: string): Promise<AuthUser | null>;
}

export function registerAuth(fastify: FastifyTypeBox, auth: TokenAuthenticator): void {
  fastify.decorateRequest('user', null);
  fastify.addHook('onRequest', async (request) => {
    const token = bearerToken(request.headers.authorization);
    if (!token) return;
    try {
      request.user = await auth.authenticateToken(token);
    } catch (err) {
      request.log.error({ err }, 'token lookup failed');
      throw new ServiceUnavailableError('身份验证服务暂时不可用，请稍后再试', 'auth_unavailable');
    }
  });
}

/** Route hook: 401 without a valid token, 403 when the user's role is not listed (no roles = any signed-in user). */
export function requireRoles(...roles: Role[]) {
  const guard = async function roleGuard(request: FastifyRequest): Promise<void> {
    const user = request.user;
    if (!user) throw new UnauthorizedError();
    if (roles.length > 0 && !roles.includes(user.role)) throw new ForbiddenError();
  };
  markRoleGuard(guard, roles); // the route's access declaration (src/http/access.ts)
  return guard;
}

/** request.user after requireRoles() ran (throws 401 otherwise, so handlers need no null checks). */
export function currentUser(request: FastifyRequest): AuthUser {
  if (!request.user) throw new UnauthorizedError();
  return request.user;
}

/** OpenAPI security requirement for protected routes. */
export const BEARER = [{ bearerAuth: [] as string[] }];
