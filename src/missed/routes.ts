// Missed-call callback routes (未接来电回拨): the list, click-to-call, and closing an entry with a result.
import { Type } from 'typebox';
import { BEARER, currentUser, requireRoles } from '../http/auth';
import { AUTH_ERRORS, BigIntId, ErrorSchema, Nullable, normalizePhone } from '../http/schemas';
import type { FastifyTypeBox } from '../http/types';
import type { MissedService } from './service';

const MissedSchema = Type.Object({
  id: Type.Integer(),
  number: Type.String({ description: '来电号码' }),
  callerName: Nullable(Type.String()),
  reason: Type.String({ description: 'abandoned 排队中挂机 / failed、no_agent 系统未能接通 / after_hours 非工作时间预约回电 / callback_failed 保留排位回电未接通' }),
  status: Type.String({ description: 'open 待回拨 / called_back 已回拨 / matched 再次来电已接通 / closed 已关闭' }),
  firstMissedAt: Type.String(),
  lastMissedAt: Type.String({ description: '最近一次未接的来电时间' }),
  missedCount: Type.Integer({ description: '未接次数' }),
  waitedMs: Nullable(Type.Integer({ description: '最近一次来电等待时长（毫秒）' })),
  maxWaitMs: Nullable(Type.Integer()),
  attempts: Type.Integer({ description: '回拨次数' }),
  lastAttemptAt: Nullable(Type.String()),
  lastAttemptResult: Nullable(Type.String({ description: '最近一次回拨的接续结果' })),
  result: Nullable(Type.String()),
  note: Nullable(Type.String()),
  firstCallId: Type.String(),
  lastCallId: Type.String(),
  matchedCallId: Nullable(Type.String({ description: '匹配到的再次来电' })),
  closedAt: Nullable(Type.String()),
  kind: Type.Union([Type.Literal('abandoned'), Type.Literal('missed'), Type.Literal('after_hours'), Type.Literal('callback_failed')], {
    description: '类型：abandoned 排队中挂机 / missed 未接通 / after_hours 非工作时间预约回电 / callback_failed 保留排位回电未接通',
  }),
  promisedAt: Nullable(Type.String({ description: '已承诺回电的时间（最早一次仍未完成的承诺）' })),
});

const Count = Type.Integer({ minimum: 0 });
const SummarySchema = Type.Object({
  open: Count,
  byKind: Type.Object({ abandoned: Count, missed: Count, after_hours: Count, callback_failed: Count }),
  promisedOpen: Type.Integer({ minimum: 0, description: '已承诺回电、尚未处理的条数' }),
  promisedLate: Type.Integer({ minimum: 0, description: '已承诺回电且超过时限仍未处理的条数' }),
  promiseMaxAgeMin: Type.Integer({ description: '承诺回电时限（分钟，CALLBACK_PROMISE_MAX_AGE_MIN）' }),
  oldestPromiseAt: Nullable(Type.String()),
  closedToday: Type.Integer({ minimum: 0, description: '今天已处理（已回拨或关闭）的条数' }),
});

const ROLES = ['agent', 'supervisor', 'admin'] as const;
const Params = Type.Object({ id: BigIntId });

export function missedRoutes(fastify: FastifyTypeBox, missed: MissedService): void {
  fastify.get(
    '/api/missed-calls',
    {
      onRequest: requireRoles(...ROLES),
      schema: {
        tags: ['missed-calls'],
        summary: '未接来电回拨清单（默认待回拨，最近的在前）',
        security: BEARER,
        querystring: Type.Object(
          {
            status: Type.Union(
              [Type.Literal('open'), Type.Literal('called_back'), Type.Literal('matched'), Type.Literal('closed'), Type.Literal('all')],
              { default: 'open' },
            ),
            number: Type.Optional(Type.String({ minLength: 3, maxLength: 32, pattern: '^[+0-9 ()\\-]+$', description: '按来电号码筛选' })),
            limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
            offset: Type.Integer({ minimum: 0, maximum: 100000, default: 0 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ total: Type.Integer(), items: Type.Array(MissedSchema) }), ...AUTH_ERRORS },
      },
    },
    async (req) => {
      const q = req.query;
      return missed.list({ status: q.status, number: q.number ? normalizePhone(q.number) : undefined, limit: q.limit, offset: q.offset });
    },
  );

  fastify.get(
    '/api/missed-calls/summary',
    {
      onRequest: requireRoles(...ROLES),
      schema: {
        tags: ['missed-calls'],
        summary: '回拨工作量：待回拨条数（按类型）、已承诺回电条数及超时未回条数、今日已处理',
        security: BEARER,
        response: { 200: SummarySchema, ...AUTH_ERRORS },
      },
    },
    async () => missed.summary(),
  );

  fastify.get(
    '/api/missed-calls/:id',
    {
      onRequest: requireRoles(...ROLES),
      schema: { tags: ['missed-calls'], summary: '未接来电详情', security: BEARER, params: Params, response: { 200: MissedSchema, ...AUTH_ERRORS, 404: ErrorSchema } },
    },
    async (req) => missed.get(req.params.id),
  );

  fastify.post(
    '/api/missed-calls/:id/call',
    {
      onRequest: requireRoles(...ROLES),
      schema: {
        tags: ['missed-calls'],
        summary: '回拨（先呼坐席分机，坐席接听后再呼市民；电话系统不可用时 503 ari_unavailable）',
        security: BEARER,
        params: Params,
        response: {
          200: Type.Object({ entry: MissedSchema, callbackCallId: Type.String(), agentEndpoint: Type.String() }),
          ...AUTH_ERRORS,
          404: ErrorSchema,
          409: ErrorSchema,
          503: ErrorSchema,
        },
      },
    },
    async (req) => missed.call(currentUser(req), req.params.id),
  );

  fastify.post(
    '/api/missed-calls/:id/done',
    {
      onRequest: requireRoles(...ROLES),
      schema: {
        tags: ['missed-calls'],
        summary: '登记回拨结果：reached 已联系上（已回拨）/ no_answer 无人接听（保留待回拨）/ invalid_number 空号错号、not_needed 无需回拨（关闭）',
        security: BEARER,
        params: Params,
        body: Type.Object(
          {
            result: Type.Union([Type.Literal('reached'), Type.Literal('no_answer'), Type.Literal('invalid_number'), Type.Literal('not_needed')]),
            note: Type.Optional(Type.String({ maxLength: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: MissedSchema, ...AUTH_ERRORS, 404: ErrorSchema, 409: ErrorSchema },
      },
    },
    async (req) => missed.done(currentUser(req), req.params.id, req.body),
  );
}
