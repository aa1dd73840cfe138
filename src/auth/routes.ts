// GET /api/me; user and token administration under /api/admin (admin only).
import { Type } from 'typebox';
import type { FastifyTypeBox } from '../http/types';
import { BEARER, currentUser, requireRoles } from '../http/auth';
import { AUTH_ERRORS, ErrorSchema, IdParams, IntId, Nullable } from '../http/schemas';
import type { AuthService } from './service';

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
  departmentCode: Nullable(Type.String()),
  departmentName: Nullable(Type.String()),
  agentId: Nullable(Type.Integer()),
  extension: Nullable(Type.String()),
  active: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
});

const TokenSchema = Type.Object({
  id: Type.Integer(),
  userId: Type.Integer(),
  label: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Nullable(Type.String({ format: 'date-time' })),
  revokedAt: Nullable(Type.String({ format: 'date-time' })),
  lastUsedAt: Nullable(Type.String({ format: 'date-time' })),
});

const MeSchema = Type.Object({
  id: Type.Integer(),
  username: Type.String(),
  displayName: Type.String(),
  role: RoleSchema,
  departmentId: Nullable(Type.Integer()),
  agentId: Nullable(Type.Integer()),
});

const CreateUserBody = Type.Object(
  {
    username: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{1,31}$', description: '小写字母、数字、点、下划线、短横线，2–32 位' }),
    displayName: Type.String({ minLength: 1, maxLength: 50 }),
    role: RoleSchema,
    departmentCode: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
    extension: Type.Optional(Type.String({ pattern: '^[0-9A-Za-z_-]{1,32}$', description: '话务员分机号' })),
    skills: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 50 }), { maxItems: 50 })),
  },
  { additionalProperties: false },
);

const IssueTokenBody = Type.Object(
  {
    label: Type.Optional(Type.String({ maxLength: 100 })),
    expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
);

export function authRoutes(fastify: FastifyTypeBox, auth: AuthService): void {
  const admin = requireRoles('admin');

  fastify.get(
    '/api/me',
    {
      onRequest: requireRoles(),
      schema: { tags: ['auth'], summary: '当前登录用户', security: BEARER, response: { 200: MeSchema, ...AUTH_ERRORS } },
    },
    async (request) => currentUser(request),
  );

  fastify.post(
    '/api/admin/users',
    {
      onRequest: admin,
      schema: {
        tags: ['auth'],
        summary: '创建用户（部门工作人员须指定部门代码；话务员可指定分机号）',
        security: BEARER,
        body: CreateUserBody,
        response: { 201: UserSchema, ...AUTH_ERRORS, 409: ErrorSchema },
      },
    },
    async (request, reply) => reply.code(201).send(await auth.createUser(request.body)),
  );

  fastify.get(
    '/api/admin/users',
    {
      onRequest: admin,
      schema: {
        tags: ['auth'],
        summary: '用户列表',
        security: BEARER,
        querystring: Type.Object({ role: Type.Optional(RoleSchema) }),
        response: { 200: Type.Array(UserSchema), ...AUTH_ERRORS },
      },
    },
    async (request) => auth.listUsers({ role: request.query.role }),
  );

  fastify.get(
    '/api/admin/users/:id/tokens',
    {
      onRequest: admin,
      schema: {
        tags: ['auth'],
        summary: '用户的令牌列表（不含令牌本身）',
        security: BEARER,
        params: IdParams,
        response: { 200: Type.Array(TokenSchema), ...AUTH_ERRORS, 404: ErrorSchema },
      },
    },
    async (request) => auth.listTokens(request.params.id),
  );

  fastify.post(
    '/api/admin/users/:id/tokens',
    {
      onRequest: admin,
      schema: {
        tags: ['auth'],
        summary: '为用户签发令牌（令牌只在此返回一次）',
        security: BEARER,
        params: IdParams,
        body: Type.Optional(IssueTokenBody),
        response: {
          201: Type.Object({ ...TokenSchema.properties, token: Type.String() }),
          ...AUTH_ERRORS,
          404: ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const issued = await auth.issueToken(request.params.id, {
        label: request.body?.label,
        expiresInDays: request.body?.expiresInDays ?? null,
      });
      return reply.code(201).send(issued);
    },
  );

  fastify.delete(
    '/api/admin/tokens/:id',
    {
      onRequest: admin,
      schema: {
        tags: ['auth'],
        summary: '吊销令牌',
        security: BEARER,
        params: Type.Object({ id: IntId }),
        response: { 204: Type.Null(), ...AUTH_ERRORS, 404: ErrorSchema },
      },
    },
    async (request, reply) => {
      await auth.revokeToken(request.params.id);
      return reply.code(204).send(null);
    },
  );
}
