// Cookie sessions for the browser pages (issue 12): @fastify/session with the Redis store, @fastify/csrf-protection
// for every cookie-authenticated write. Bearer tokens (integrations, scripts) keep working and need no CSRF token:
// a cross-site form cannot set an Authorization header.
//
// The cookie is HTTP-only and SameSite=Strict, Secure when the request came over HTTPS (set at sign-in, so one
// deployment can serve both). It carries only a signed random id; the session holds (userId, epoch) and the
// CSRF secret, and the user row decides on every request (active, epoch not bumped, password change pending).
import cookie from '@fastify/cookie';
import session from '@fastify/session';
import csrf from '@fastify/csrf-protection';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthConfig } from '../config';
import type { Redis } from '../infra/redis';
import { ForbiddenError, ServiceUnavailableError } from '../infra/errors';
import { RedisSessionStore } from './session-store';
import type { SessionUser } from './user';
import type { FastifyTypeBox } from './types';

export const SESSION_COOKIE = 'h114_sid';
export const CSRF_HEADER = 'x-csrf-token';

declare module 'fastify' {
  interface Session {
    userId?: number;
    epoch?: number;
    _csrf?: string;
  }
  interface FastifyRequest {
    /** How request.user was authenticated: a bearer token, the session cookie, or a one-time ticket. */
    authMethod: 'token' | 'session' | 'ticket' | null;
    /** Session users whose password must be changed first may only reach PASSWORD_CHANGE_ROUTES. */
    mustChangePassword: boolean;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What a session user with a pending forced password change may still do. */
export const PASSWORD_CHANGE_ROUTES = new Set([
  'GET /api/me',
  'GET /api/auth/session',
  'POST /api/auth/password',
  'POST /api/auth/signout',
  'POST /api/auth/signout-all',
]);

// http sits below auth: it asks auth for session users through this port (src/auth/signin.ts implements it).
export interface SessionUsers {
  /** The session's user, or null when the session is dead (user disabled, signed out everywhere, password reset). */
  sessionUser(userId: number, epoch: number): Promise<SessionUser | null>;
}

export async function registerSessions(fastify: FastifyTypeBox, deps: { config: AuthConfig; redis: Redis; signIn: SessionUsers }): Promise<void> {
  const ttlMs = deps.config.sessionTtlMin * 60_000;
  await fastify.register(cookie);
  await fastify.register(session, {
    secret: deps.config.sessionSecret,
    cookieName: SESSION_COOKIE,
    store: new RedisSessionStore(deps.redis, ttlMs),
    saveUninitialized: false,
    // Absolute lifetime from sign-in: the cookie is written once, not on every response.
    rolling: false,
    cookie: { path: '/', httpOnly: true, sameSite: 'strict', secure: false, maxAge: ttlMs },
  });
  await fastify.register(csrf, {
    sessionPlugin: '@fastify/session',
    getToken: (req: FastifyRequest) => {
      const h = req.headers[CSRF_HEADER];
      return typeof h === 'string' ? h : undefined;
    },
  });
  fastify.decorateRequest('authMethod', null);
  fastify.decorateRequest('mustChangePassword', false);

  // After registerAuth's bearer hook: a bearer header wins over a cookie.
  fastify.addHook('onRequest', async (request) => {
    if (request.user) {
      request.authMethod = 'token';
      return;
    }
    const s = request.session as { userId?: number; epoch?: number } | null;
    if (!s || typeof s.userId !== 'number' || typeof s.epoch !== 'number') return;
    let su: SessionUser | null;
    try {
      su = await deps.signIn.sessionUser(s.userId, s.epoch);
    } catch (err) {
      request.log.error({ err }, 'session user lookup failed');
      throw new ServiceUnavailableError('身份验证服务暂时不可用，请稍后再试', 'auth_unavailable');
    }
    if (!su) return; // disabled, signed out everywhere, password reset: the page goes back to sign-in
    request.user = su.user;
    request.authMethod = 'session';
    request.mustChangePassword = su.mustChangePassword;
    // API only: the static pages are public files, and the sign-in page itself must load.
    const route = request.routeOptions.url ?? '';
    if (su.mustChangePassword && route.startsWith('/api/') && !PASSWORD_CHANGE_ROUTES.has(`${request.method} ${route}`)) {
      throw new ForbiddenError('首次登录或密码已被重置，请先修改密码', 'password_change_required');
    }
  });

  // CSRF: writes that rely on the cookie must carry the token of their session (x-csrf-token header).
  // Sign-in itself is exempt (it is how a session starts; a cross-site form cannot post JSON to it anyway).
  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    if (request.authMethod !== 'session' || SAFE_METHODS.has(request.method)) return done();
    if (request.routeOptions.url === '/api/auth/signin') return done();
    fastify.csrfProtection(request, reply, done);
  });
}

/** Starts a fresh session for a signed-in user (a new id, so a planted session id is worthless). */
export async function startSession(request: FastifyRequest, reply: FastifyReply, su: SessionUser): Promise<string> {
  await request.session.regenerate();
  request.session.userId = su.user.id;
  request.session.epoch = su.epoch;
  // Secure exactly when this request came over HTTPS (request.protocol honours TRUST_PROXY).
  request.session.cookie.secure = request.protocol === 'https';
  request.session.cookie.sameSite = 'strict';
  return reply.generateCsrf();
}

/** The CSRF token of the current session (new per call; all stay valid for the session's life). */
export function csrfToken(request: FastifyRequest, reply: FastifyReply): string | null {
  return request.authMethod === 'session' ? reply.generateCsrf() : null;
}

export async function endSession(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (request.session?.sessionId) await request.session.destroy();
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
}
