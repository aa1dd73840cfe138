// Knowledge base routes: staff CRUD under /api/knowledge, public read of published articles under /api/public/knowledge.
import { Type } from 'typebox';
import { BEARER, currentUser, requireRoles } from '../http/auth';
import { AUTH_ERRORS, ErrorSchema, IdParams, IntId, Nullable } from '../http/schemas';
import type { FastifyTypeBox } from '../http/types';
import type { KnowledgeService } from './service';

const DateTime = Type.String({ format: 'date-time' });
const Kind = Type.Union([Type.Literal('guide'), Type.Literal('public_info')], { description: 'guide 办事指南；public_info 政务公开' });
const Status = Type.Union([Type.Literal('draft'), Type.Literal('published')]);

const ArticleSchema = Type.Object({
  id: Type.Integer(),
  kind: Type.String(),
  kindLabel: Type.String(),
  title: Type.String(),
  body: Type.String(),
  categoryId: Nullable(Type.Integer()),
  categoryName: Nullable(Type.String()),
  departmentId: Nullable(Type.Integer()),
  departmentName: Nullable(Type.String()),
  tags: Type.Array(Type.String()),
  status: Type.String(),
  createdAt: DateTime,
  updatedAt: DateTime,
  publishedAt: Nullable(DateTime),
});
const ArticleListSchema = Type.Object({ items: Type.Array(ArticleSchema), total: Type.Integer() });

const Title = Type.String({ minLength: 1, maxLength: 200 });
const Body = Type.String({ minLength: 1, maxLength: 20000 });
const Tags = Type.Array(Type.String({ minLength: 1, maxLength: 30 }), { maxItems: 20 });
const CreateBody = Type.Object(
  {
    kind: Kind,
    title: Title,
    body: Body,
    categoryId: Type.Optional(Nullable(IntId)),
    departmentId: Type.Optional(Nullable(IntId)),
    tags: Type.Optional(Tags),
    status: Type.Optional(Status),
  },
  { additionalProperties: false },
);
const PatchBody = Type.Object(
  {
    kind: Type.Optional(Kind),
    title: Type.Optional(Title),
    body: Type.Optional(Body),
    categoryId: Type.Optional(Nullable(IntId)),
    departmentId: Type.Optional(Nullable(IntId)),
    tags: Type.Optional(Tags),
    status: Type.Optional(Status),
  },
  { additionalProperties: false, minProperties: 1 },
);

const ListQuery = {
  q: Type.Optional(Type.String({ maxLength: 200, description: '关键词' })),
  kind: Type.Optional(Kind),
  category: Type.Optional(IntId),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  offset: Type.Integer({ minimum: 0, maximum: 10000, default: 0 }),
};

export function knowledgeRoutes(fastify: FastifyTypeBox, knowledge: KnowledgeService, publicRateLimit: object): void {
  const readers = requireRoles('agent', 'dispatcher', 'department_staff', 'supervisor', 'admin');
  const editors = requireRoles('supervisor', 'admin');

  fastify.get(
    '/api/knowledge',
    {
      onRequest: readers,
      schema: {
        tags: ['knowledge'],
        summary: '知识库文章列表（班长、管理员可见草稿）',
        security: BEARER,
        querystring: Type.Object({ ...ListQuery, status: Type.Optional(Status) }),
        response: { 200: ArticleListSchema, ...AUTH_ERRORS },
      },
    },
    async (request) => knowledge.list(currentUser(request), request.query),
  );

  fastify.get(
    '/api/knowledge/:id',
    {
      onRequest: readers,
      schema: { tags: ['knowledge'], summary: '知识库文章', security: BEARER, params: IdParams, response: { 200: ArticleSchema, ...AUTH_ERRORS, 404: ErrorSchema } },
    },
    async (request) => knowledge.get(currentUser(request), request.params.id),
  );

  fastify.post(
    '/api/knowledge',
    {
      onRequest: editors,
      schema: { tags: ['knowledge'], summary: '新建知识库文章（班长、管理员）', security: BEARER, body: CreateBody, response: { 201: ArticleSchema, ...AUTH_ERRORS } },
    },
    async (request, reply) => reply.code(201).send(await knowledge.create(currentUser(request), request.body)),
  );

  fastify.patch(
    '/api/knowledge/:id',
    {
      onRequest: editors,
      schema: {
        tags: ['knowledge'],
        summary: '修改、发布或撤回知识库文章（班长、管理员）',
        security: BEARER,
        params: IdParams,
        body: PatchBody,
        response: { 200: ArticleSchema, ...AUTH_ERRORS, 404: ErrorSchema },
      },
    },
    async (request) => knowledge.update(currentUser(request), request.params.id, request.body),
  );

  fastify.delete(
    '/api/knowledge/:id',
    {
      onRequest: editors,
      schema: { tags: ['knowledge'], summary: '删除知识库文章（班长、管理员）', security: BEARER, params: IdParams, response: { 204: Type.Null(), ...AUTH_ERRORS, 404: ErrorSchema } },
    },
    async (request, reply) => {
      await knowledge.remove(request.params.id);
      return reply.code(204).send(null);
    },
  );

  fastify.get(
    '/api/public/knowledge',
    {
      config: { rateLimit: publicRateLimit, access: { public: 'published guides (办事指南/政务公开)' } },
      schema: { tags: ['public'], summary: '已发布的办事指南和政务公开信息（无需登录）', querystring: Type.Object(ListQuery), response: { 200: ArticleListSchema, 400: ErrorSchema } },
    },
    async (request) => knowledge.list(null, request.query),
  );

  fastify.get(
    '/api/public/knowledge/:id',
    {
      config: { rateLimit: publicRateLimit, access: { public: 'published guides (办事指南/政务公开)' } },
      schema: { tags: ['public'], summary: '已发布的知识库文章（无需登录）', params: IdParams, response: { 200: ArticleSchema, 404: ErrorSchema } },
    },
    async (request) => knowledge.get(null, request.params.id),
  );
}
