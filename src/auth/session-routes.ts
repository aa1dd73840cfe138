// Sign-in, sign-out (here or everywhere), password change, one-time tickets, the admin's reset / disable /
// enable, and the optional OpenID Connect sign-in. Thin: the rules are in signin.ts.
import { Type } from 'typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyTypeBox } from '../http/types';
import { BEARER, currentUser, requireRoles } from '../http/auth';
import { AUTH_ERRORS, ErrorSchema, IdParams, Nullable } from '../http/schemas';
import { csrfToken, endSession, startSession } from '../http/session';
import { PASSWORD_MAX } from './password';
import type { SignInService } from './signin';
import type { SessionUser } from '../http/user';
import type { Tickets } from './tickets';
import { OIDC_COOKIE, type Oidc } from './oidc';
import type { AuthUser } from './types';

const RoleSchema = Type.Union([
  Type.Literal('agent'),
  Type.Literal('dispatcher'),
  Type.Literal('department_staff'),
  Type.Literal('supervisor'),
  Type.Literal('admin'),
]);

const UserSchema = Type.Object({
  id: Type.Integer(),
  username: Type.String(),
  displayName: Type.String(),
  role: RoleSchema,
  departmentId: Nullable(Type.Integer()),
  agentId: Nullable(Type.Integer()),
});

const SessionSchema = Type.Object({
  user: UserSchema,
  mustChangePassword: Type.Boolean({ description: '须先修改密码（首次登录或管理员重置后）' }),
  csrfToken: Nullable(Type.String({ description: '以会话 Cookie 调用写操作时放在请求头 x-csrf-token 中；令牌调用为 null' })),
  home: Type.String({ description: '该角色的默认页面' }),
});

const Password = Type.String({ minLength: 1, maxLength: PASSWORD_MAX });

/** Where a role starts after sign-in. */
export function homeOf(user: AuthUser): string {
  if (user.role === 'department_staff') return '/department/';
  if (user.role === 'agent') return '/console/';
  return '/admin/';
}

/** A local path to return to after sign-in (never another site: no scheme, no //, no backslash). */
export function safeNext(next: string | undefined): string | null {
  return next && /^\/(?![/\\])[^\\\s]*$/.test(next) && next.length <= 500 ? next : null;
}

export function sessionRoutes(
  fastify: FastifyTypeBox,
  deps: { signIn: SignInService; tickets: Tickets; oidc: Oidc | null; signinPerMin: number },
): void {
  const { signIn } = deps;
  const SIGNIN_LIMIT = { max: deps.signinPerMin, timeWindow: 60_000 };
  const anyUser = requireRoles();
  const admin = requireRoles('admin');

  const sessionBody = (request: FastifyRequest, reply: FastifyReply, su: Pick<SessionUser, 'user' | 'mustChangePassword'>) => ({
    user: su.user,
    mustChangePassword: su.mustChangePassword,
    csrfToken: csrfToken(request, reply),
    home: homeOf(su.user),
  });

  fastify.get(
    '/api/auth/options',
    {
      config: { rateLimit: SIGNIN_LIMIT, access: { public: 'the sign-in page asks which sign-in methods exist' } },
      schema: {
        tags: ['auth'],
        summary: '登录方式（公开）：账号密码，以及是否启用统一身份认证',
        response: { 200: Type.Object({ password: Type.Boolean(), oidc: Nullable(Type.Object({ label: Type.String() })) }) },
      },
    },
    async () => ({ password: true, oidc: deps.oidc ? { label: deps.oidc.label } : null }),
  );

  fastify.post(
    '/api/auth/signin',
    {
      config: { rateLimit: SIGNIN_LIMIT, access: { public: 'password sign-in: how a session starts' } },
      schema: {
        tags: ['auth'],
        summary: '账号密码登录（公开）：成功后设置会话 Cookie；连续输错将临时锁定账号',
        body: Type.Object(
          { username: Type.String({ minLength: 1, maxLength: 64 }), password: Password },
          { additionalProperties: false },
        ),
        response: { 200: SessionSchema, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 429: ErrorSchema },
      },
    },
    async (request, reply) => {
      const su = await signIn.signIn(request.body.username.trim(), request.body.password, request.ip);
      await startSession(request, reply, su);
      request.authMethod = 'session';
      return sessionBody(request, reply, su);
    },
  );

  fastify.get(
    '/api/auth/session',
    {
      onRequest: anyUser,
      schema: { tags: ['auth'], summary: '当前登录会话（含 CSRF 令牌）', security: BEARER, response: { 200: SessionSchema, ...AUTH_ERRORS } },
    },
    async (request, reply) => sessionBody(request, reply, { user: currentUser(request), mustChangePassword: request.mustChangePassword }),
  );

  fastify.post(
    '/api/auth/signout',
    {
      onRequest: anyUser,
      schema: { tags: ['auth'], summary: '退出登录（本浏览器）', security: BEARER, response: { 204: Type.Null(), ...AUTH_ERRORS } },
    },
    async (request, reply) => {
      const user = currentUser(request);
      if (request.authMethod === 'session') {
        await endSession(request, reply);
        signIn.signedOut(user.id, user.username);
      }
      return reply.code(204).send(null);
    },
  );

  fastify.post(
    '/api/auth/signout-all',
    {
      onRequest: anyUser,
      schema: {
        tags: ['auth'],
        summary: '退出所有设备：该用户的全部登录会话立即失效（API 令牌不受影响）',
        security: BEARER,
        response: { 204: Type.Null(), ...AUTH_ERRORS },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      await signIn.signOutEverywhere(user.id, user.username);
      if (request.authMethod === 'session') await endSession(request, reply);
      return reply.code(204).send(null);
    },
  );

  fastify.post(
    '/api/auth/password',
    {
      onRequest: anyUser,
      schema: {
        tags: ['auth'],
        summary: '修改自己的密码（其他设备上的登录随即失效，本会话保留）',
        security: BEARER,
        body: Type.Object({ currentPassword: Password, newPassword: Password }, { additionalProperties: false }),
        response: { 200: SessionSchema, ...AUTH_ERRORS },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const epoch = await signIn.changePassword(user.id, request.body.currentPassword, request.body.newPassword);
      if (request.authMethod === 'session') await startSession(request, reply, { user, epoch, mustChangePassword: false });
      request.mustChangePassword = false;
      return sessionBody(request, reply, { user, mustChangePassword: false });
    },
  );

  fastify.post(
    '/api/auth/ticket',
    {
      onRequest: anyUser,
      schema: {
        tags: ['auth'],
        summary: '一次性票据：用于无法设置请求头的 WebSocket / SSE 客户端（?ticket=，30 秒内有效，只能用一次）',
        security: BEARER,
        response: { 201: Type.Object({ ticket: Type.String(), expiresInSec: Type.Integer() }), ...AUTH_ERRORS },
      },
    },
    async (request, reply) => reply.code(201).send(await deps.tickets.issue(currentUser(request).id)),
  );

  fastify.post(
    '/api/admin/users/:id/password',
    {
      onRequest: admin,
      schema: {
        tags: ['auth'],
        summary: '重置用户密码：生成临时密码（只返回这一次），用户下次登录须修改；其全部登录会话立即失效',
        security: BEARER,
        params: IdParams,
        response: { 200: Type.Object({ temporaryPassword: Type.String() }), ...AUTH_ERRORS, 404: ErrorSchema },
      },
    },
    async (request) => ({ temporaryPassword: await signIn.resetPassword(request.params.id, currentUser(request).id) }),
  );

  for (const [action, active, summary] of [
    ['disable', false, '停用用户：其全部登录会话和 API 令牌立即失效，实时连接断开'],
    ['enable', true, '重新启用用户：API 令牌恢复可用，须重新登录'],
  ] as const) {
    fastify.post(
      `/api/admin/users/:id/${action}`,
      {
        onRequest: admin,
        schema: { tags: ['auth'], summary, security: BEARER, params: IdParams, response: { 204: Type.Null(), ...AUTH_ERRORS, 404: ErrorSchema } },
      },
      async (request, reply) => {
        await signIn.setActive(request.params.id, active, currentUser(request).id);
        return reply.code(204).send(null);
      },
    );
  }

  const oidc = deps.oidc;
  if (!oidc) return;

  fastify.get(
    '/api/auth/oidc/start',
    {
      config: { rateLimit: SIGNIN_LIMIT, access: { public: 'OpenID Connect sign-in: redirect to the identity platform' } },
      schema: {
        tags: ['auth'],
        summary: '统一身份认证登录（公开）：跳转到身份认证平台',
        querystring: Type.Object({ next: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false }),
      },
    },
    async (request, reply) => {
      const started = await oidc.start(safeNext(request.query.next) ?? '');
      reply.setCookie(OIDC_COOKIE, started.flowId, {
        path: '/api/auth/oidc/',
        httpOnly: true,
        sameSite: 'lax',
        secure: request.protocol === 'https',
        maxAge: started.maxAgeSec,
      });
      return reply.redirect(started.url);
    },
  );

  fastify.get(
    '/api/auth/oidc/callback',
    {
      config: { rateLimit: SIGNIN_LIMIT, access: { public: 'OpenID Connect callback: the identity platform vouches for the user' } },
      schema: {
        tags: ['auth'],
        summary: '统一身份认证回调（公开）：校验后建立会话并跳转到工作页面',
        querystring: Type.Object({}, { additionalProperties: Type.String({ maxLength: 4000 }) }),
      },
    },
    async (request, reply) => {
      const query = new URL(request.url, 'http://local').search;
      const flowId = request.cookies[OIDC_COOKIE];
      reply.clearCookie(OIDC_COOKIE, { path: '/api/auth/oidc/' });
      try {
        const who = await oidc.finish(flowId, query);
        const su = await signIn.oidcUser(who.subject, who.username, request.ip);
        await startSession(request, reply, su);
        return reply.redirect(who.next || homeOf(su.user));
      } catch (err) {
        const message = err instanceof Error ? err.message : '统一身份认证登录失败';
        return reply.redirect(`/signin/?error=${encodeURIComponent(message)}`);
      }
    },
  );
}
