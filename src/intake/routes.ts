// Public web intake (求助栏) under /api/public/requests, and Open311 client keys for admins.
import { Type } from 'typebox';
import { BEARER, currentUser, requireRoles } from '../http/auth';
import { AUTH_ERRORS, ErrorSchema, IdParams, Nullable } from '../http/schemas';
import type { FastifyTypeBox } from '../http/types';
import type { IntakeService } from './service';

export interface PublicRateLimits {
  submit: object;
  read: object;
}

const DateTime = Type.String({ format: 'date-time' });

export function intakeRoutes(fastify: FastifyTypeBox, intake: IntakeService, limits: PublicRateLimits): void {
  fastify.get(
    '/api/public/categories',
    {
      config: { rateLimit: limits.read, access: { public: 'category list for the public form' } },
      schema: {
        tags: ['public'],
        summary: '求助分类（无需登录）',
        response: { 200: Type.Array(Type.Object({ code: Type.String(), name: Type.String(), group: Nullable(Type.String()) })) },
      },
    },
    async () => intake.categories(),
  );

  fastify.post(
    '/api/public/requests',
    {
      config: { rateLimit: limits.submit, access: { public: 'web intake (rate limited)' } },
      schema: {
        tags: ['public'],
        summary: '网上求助（无需登录，限频）：提交后返回受理编号',
        body: Type.Object(
          {
            category: Type.String({ minLength: 1, maxLength: 64, description: '分类代码，见 /api/public/categories' }),
            description: Type.String({ minLength: 1, maxLength: 4000, description: '诉求内容，最多 4000 字' }),
            location: Type.String({ minLength: 1, maxLength: 200, description: '发生地点' }),
            name: Type.Optional(Type.String({ maxLength: 50 })),
            phone: Type.Optional(Type.String({ maxLength: 32, description: '联系电话（选填，用于查询进度和回访）' })),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ trackingNo: Type.String(), lookupCode: Nullable(Type.String()), message: Type.String() }),
          400: ErrorSchema,
          429: ErrorSchema,
        },
      },
    },
    async (request, reply) => reply.code(201).send(await intake.submitWeb(request.body)),
  );

  fastify.get(
    '/api/public/requests/:trackingNo',
    {
      config: { rateLimit: limits.read, access: { public: 'status lookup by tracking number + phone last 4 / lookup code' } },
      schema: {
        tags: ['public'],
        summary: '查询办理进度（受理编号 + 手机号后四位或查询码）：只显示状态和部门答复，不含个人信息',
        params: Type.Object({ trackingNo: Type.String({ minLength: 1, maxLength: 40 }) }),
        querystring: Type.Object(
          {
            phoneLast4: Type.Optional(Type.String({ pattern: '^[0-9]{4}$', description: '手机号后四位' })),
            code: Type.Optional(Type.String({ minLength: 4, maxLength: 32, pattern: '^[A-Za-z0-9 -]+$', description: '查询码（未留电话时提交后获得，如 ABCD-EFGH-JK）' })),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: {
          200: Type.Object({
            trackingNo: Type.String(),
            status: Type.String(),
            statusLabel: Type.String(),
            categoryName: Nullable(Type.String()),
            departmentName: Nullable(Type.String()),
            submittedAt: DateTime,
            updatedAt: DateTime,
            resolvedAt: Nullable(DateTime),
            reply: Nullable(Type.String()),
            mergedInto: Nullable(Type.String()),
            history: Type.Array(Type.Object({ at: DateTime, status: Type.String(), statusLabel: Type.String() })),
            mergedCase: Nullable(
              Type.Object(
                {
                  trackingNo: Type.String(),
                  status: Type.String(),
                  statusLabel: Type.String(),
                  departmentName: Nullable(Type.String()),
                  updatedAt: DateTime,
                  resolvedAt: Nullable(DateTime),
                  reply: Nullable(Type.String()),
                  history: Type.Array(Type.Object({ at: DateTime, status: Type.String(), statusLabel: Type.String() })),
                },
                { description: '已并单时：并入的工单（合并后办理）的进度' },
              ),
            ),
          }),
          400: ErrorSchema,
          404: ErrorSchema,
          429: ErrorSchema,
        },
        description: '验证错误次数有上限（每个受理编号、每个来源地址各自计数，默认每小时 10 / 30 次），超过后暂时锁定并返回 429 lookup_locked。',
      },
    },
    async (request) => intake.lookupWeb(request.params.trackingNo, request.query, request.ip),
  );

  fastify.put(
    '/api/cases/:id/publication',
    {
      onRequest: requireRoles('dispatcher', 'supervisor', 'admin'),
      schema: {
        tags: ['open311'],
        summary: '审核后公开（或撤回）网上求助 / Open311 请求的诉求描述：公开后 Open311 显示脱敏后的描述和照片链接',
        security: BEARER,
        params: IdParams,
        body: Type.Object({ descriptionPublic: Type.Boolean() }, { additionalProperties: false }),
        response: { 200: Type.Object({ caseId: Type.Integer(), descriptionPublic: Type.Boolean() }), ...AUTH_ERRORS, 404: ErrorSchema },
      },
    },
    async (request) => intake.setDescriptionPublic(request.params.id, currentUser(request).id, request.body.descriptionPublic),
  );

  const ClientSchema = Type.Object({
    id: Type.Integer(),
    name: Type.String(),
    createdAt: DateTime,
    revokedAt: Nullable(DateTime),
    lastUsedAt: Nullable(DateTime),
  });

  fastify.get(
    '/api/admin/open311-clients',
    {
      onRequest: requireRoles('admin'),
      schema: { tags: ['open311'], summary: 'Open311 第三方客户端', security: BEARER, response: { 200: Type.Array(ClientSchema), ...AUTH_ERRORS } },
    },
    async () => intake.listClients(),
  );

  fastify.post(
    '/api/admin/open311-clients',
    {
      onRequest: requireRoles('admin'),
      schema: {
        tags: ['open311'],
        summary: '新建 Open311 客户端并生成 api_key（只显示这一次）',
        security: BEARER,
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
        response: { 201: Type.Object({ id: Type.Integer(), name: Type.String(), apiKey: Type.String() }), ...AUTH_ERRORS },
      },
    },
    async (request, reply) => reply.code(201).send(await intake.createClient(request.body.name)),
  );

  fastify.delete(
    '/api/admin/open311-clients/:id',
    {
      onRequest: requireRoles('admin'),
      schema: { tags: ['open311'], summary: '停用 Open311 客户端', security: BEARER, params: IdParams, response: { 204: Type.Null(), ...AUTH_ERRORS, 404: ErrorSchema } },
    },
    async (request, reply) => {
      await intake.revokeClient(request.params.id);
      return reply.code(204).send(null);
    },
  );
}
