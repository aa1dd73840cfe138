// GET /api/search (one keyword search) and GET /api/cases/:id/duplicates (并单 suggestions).
import { Type } from 'typebox';
import { BEARER, currentUser, requireRoles } from '../http/auth';
import { AUTH_ERRORS, BigIntId, Cursor, ErrorSchema, IntId, Nullable } from '../http/schemas';
import type { FastifyTypeBox } from '../http/types';
import type { SearchService } from './service';

const DateTime = Type.String({ format: 'date-time' });
const Facet = Type.Array(Type.Object({ key: Type.String(), label: Type.String(), count: Type.Integer() }));

const SearchItemSchema = Type.Object({
  type: Type.String({ description: 'call | case | request | knowledge' }),
  id: Type.String({ description: '通话 ID（call）、工单 ID（case/request）或文章 ID（knowledge）' }),
  title: Type.String(),
  titleHtml: Type.String({ description: '标题，命中处以 <mark> 标出，其余已做 HTML 转义' }),
  snippet: Type.String({ description: '摘要，命中处以 <mark> 标出，其余已做 HTML 转义' }),
  createdAt: DateTime,
  status: Nullable(Type.String()),
  statusLabel: Nullable(Type.String()),
  channel: Nullable(Type.String()),
  categoryId: Nullable(Type.Integer()),
  categoryName: Nullable(Type.String()),
  departmentId: Nullable(Type.Integer()),
  departmentName: Nullable(Type.String()),
  trackingNo: Nullable(Type.String()),
  callId: Nullable(Type.String()),
  callerNumber: Nullable(Type.String()),
  contactName: Nullable(Type.String()),
});

export const SearchResultSchema = Type.Object({
  items: Type.Array(SearchItemSchema),
  total: Type.Integer({ description: '命中总数：totalExact 为 true 时精确，否则为抽样估计（两位有效数字）' }),
  totalExact: Type.Boolean(),
  totalLabel: Type.String({ description: '显示用：共 1,234 条 / 约 12 万条' }),
  countSource: Type.String({ description: 'index：本次由索引精确计数；sample：由抽样估计（分面数字同样为估计）' }),
  sort: Type.String({ description: 'newest 最新优先 / relevance 相关度优先' }),
  facets: Type.Object({ type: Facet, category: Facet, department: Facet, status: Facet, channel: Facet }),
  facetsComplete: Type.Boolean({ description: '估计时，少见的分面取值（抽样中没有的）另行精确统计；超时未统计完时为 false（结果本身不受影响）' }),
  nextCursor: Nullable(Type.String()),
});

const SearchQuery = Type.Object({
  q: Type.String({ minLength: 1, maxLength: 200, description: '关键词（2 个汉字以上走索引；空格分隔的多个词同时满足）' }),
  types: Type.Optional(Type.String({ maxLength: 60, description: '逗号分隔：calls/cases/requests/knowledge 或 call/case/request/knowledge' })),
  category: Type.Optional(IntId),
  department: Type.Optional(IntId),
  status: Type.Optional(Type.String({ maxLength: 200, description: '逗号分隔的状态' })),
  channel: Type.Optional(Type.String({ maxLength: 60, description: '逗号分隔：phone、web、open311' })),
  from: Type.Optional(Type.String({ format: 'date-time', description: '开始时间（含）' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: '结束时间（不含）' })),
  callerNumber: Type.Optional(Type.String({ minLength: 3, maxLength: 32 })),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Cursor),
  sort: Type.Union([Type.Literal('newest'), Type.Literal('relevance')], {
    default: 'newest',
    description: 'newest：最新优先；relevance：关键词出现在标题/分类中的优先，其次整词命中，同档内最新优先',
  }),
  exact: Type.Boolean({ default: false, description: '命中很多时也精确计数（较慢）' }),
});

const DuplicateSchema = Type.Object({
  id: Type.Integer(),
  trackingNo: Type.String(),
  title: Type.String(),
  status: Type.String(),
  statusLabel: Type.String(),
  channel: Type.String(),
  departmentId: Nullable(Type.Integer()),
  departmentName: Nullable(Type.String()),
  createdAt: DateTime,
  sameCaller: Type.Boolean({ description: '同一来电人或相同的来电/联系电话' }),
  similarity: Type.Number({ description: '本工单的关键词（分词，去掉常用词）在对方工单中出现的比例' }),
});

const PLURAL: Record<string, string> = { calls: 'call', cases: 'case', requests: 'request', knowledge: 'knowledge' };

export function searchRoutes(fastify: FastifyTypeBox, search: SearchService): void {
  fastify.get(
    '/api/search',
    {
      onRequest: requireRoles('agent', 'dispatcher', 'department_staff', 'supervisor', 'admin'),
      schema: {
        tags: ['search'],
        summary: '关键词检索（通话小结、工单、网上求助、知识库），含筛选、分面统计、高亮摘要和游标分页；4 位以上数字同时匹配来电号码和联系电话',
        security: BEARER,
        querystring: SearchQuery,
        response: { 200: SearchResultSchema, ...AUTH_ERRORS },
      },
    },
    async (request) => {
      const q = request.query;
      const types = q.types?.split(',').map((t) => PLURAL[t.trim()] ?? t.trim()).join(',');
      return search.search(currentUser(request), { ...q, types });
    },
  );

  const dupQuery = {
    days: Type.Integer({ minimum: 1, maximum: 365, default: 30, description: '前后多少天内' }),
    limit: Type.Integer({ minimum: 1, maximum: 50, default: 10 }),
  };

  fastify.get(
    '/api/cases/:id/duplicates',
    {
      onRequest: requireRoles('agent', 'dispatcher', 'supervisor', 'admin'),
      schema: {
        tags: ['search'],
        summary: '疑似重复工单（并单建议）：同一来电人/联系电话，或内容相近（分词后的关键词重合）、未办结的工单',
        security: BEARER,
        params: Type.Object({ id: BigIntId }),
        querystring: Type.Object(dupQuery),
        response: {
          200: Type.Object({ caseId: Type.Integer(), days: Type.Integer(), items: Type.Array(DuplicateSchema) }),
          ...AUTH_ERRORS,
          404: ErrorSchema,
        },
      },
    },
    async (request) => search.duplicates(currentUser(request), request.params.id, request.query),
  );

  fastify.post(
    '/api/cases/duplicates/check',
    {
      onRequest: requireRoles('agent', 'dispatcher', 'supervisor', 'admin'),
      schema: {
        tags: ['search'],
        summary: '建单时查重：按填写中的诉求内容、联系电话和来电，给出可能重复的未办结工单（并单建议）',
        security: BEARER,
        querystring: Type.Object(dupQuery),
        body: Type.Object(
          {
            title: Type.Optional(Type.String({ maxLength: 200 })),
            description: Type.String({ minLength: 1, maxLength: 20000, description: '诉求内容' }),
            contactPhone: Type.Optional(Type.String({ minLength: 3, maxLength: 32 })),
            callId: Type.Optional(Type.String({ format: 'uuid', description: '来电的通话 ID（取来电号码和来电人）' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ days: Type.Integer(), items: Type.Array(DuplicateSchema) }),
          ...AUTH_ERRORS,
          404: ErrorSchema,
        },
      },
    },
    async (request) => search.duplicatesFor(currentUser(request), request.body, request.query),
  );

  fastify.get(
    '/api/cases/duplicates',
    {
      onRequest: requireRoles('agent', 'dispatcher', 'supervisor', 'admin'),
      schema: {
        tags: ['search'],
        summary: '待派单队列用：一批工单各自的疑似重复数和最相近的一张',
        security: BEARER,
        querystring: Type.Object({
          ids: Type.String({ pattern: '^[1-9][0-9]{0,17}(,[1-9][0-9]{0,17}){0,49}$', description: '逗号分隔的工单 ID，最多 50 个' }),
          ...dupQuery,
        }),
        response: {
          200: Type.Object({
            days: Type.Integer(),
            items: Type.Array(Type.Object({ caseId: Type.Integer(), count: Type.Integer(), best: Nullable(DuplicateSchema) })),
          }),
          ...AUTH_ERRORS,
        },
      },
    },
    async (request) => {
      const { ids, ...opts } = request.query;
      return search.duplicateCounts(currentUser(request), ids.split(',').map(Number), { ...opts, limit: Math.max(opts.limit, 1) });
    },
  );
}
