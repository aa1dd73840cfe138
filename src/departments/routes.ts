// The department ticket API (department_staff pull their transfer queue over REST). Another department → 403;
// supervisors, admins and dispatchers may read any department.
import { Type } from 'typebox';
import { BEARER, currentUser, requireRoles } from '../http/auth';
import { AUTH_ERRORS, BigIntId, ErrorSchema, Nullable } from '../http/schemas';
import type { FastifyTypeBox } from '../http/types';
import { NotFoundError } from '../infra/errors';
import { CaseSchema } from '../case-model/dto';
import { STATUSES } from '../case-model/status';
import type { DepartmentsService } from './service';

const Code = Type.Object({ code: Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9][a-z0-9-]{0,62}$', description: '部门代码' }) });
const Paging = {
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50, description: '每页条数（1–200）' }),
  offset: Type.Integer({ minimum: 0, maximum: 100000, default: 0 }),
};

const SummarySchema = Type.Object({
  departmentCode: Type.String(),
  departmentName: Type.String(),
  waiting: Type.Integer({ description: '待签收' }),
  signed: Type.Integer({ description: '已签收' }),
  inProgress: Type.Integer({ description: '办理中（含延期申请中）' }),
  extensionRequested: Type.Integer({ description: '延期申请中' }),
  overdue: Type.Integer({ description: '办结超期' }),
  signOverdue: Type.Integer({ description: '签收超期' }),
  yellow: Type.Integer({ description: '黄牌预警' }),
  red: Type.Integer({ description: '红牌超期' }),
  queued: Nullable(Type.Integer({ description: '转办队列中的任务数（Redis 不可用时为 null）' })),
});

const NoticeSchema = Type.Object({
  id: Type.Integer(),
  caseId: Type.Integer(),
  trackingNo: Type.String(),
  kind: Type.String({ enum: ['yellow', 'red', 'supervise', 'sign_overdue'] }),
  deadlineVersion: Type.Integer(),
  message: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  readAt: Nullable(Type.String({ format: 'date-time' })),
});

export function departmentRoutes(fastify: FastifyTypeBox, departments: DepartmentsService): void {
  const readers = requireRoles('department_staff', 'supervisor', 'admin', 'dispatcher');
  const staff = requireRoles('department_staff');

  fastify.get(
    '/api/departments/:code/tickets/summary',
    {
      onRequest: readers,
      schema: {
        tags: ['departments'],
        summary: '部门工单概况（待签收、已签收、办理中、超期、黄牌/红牌）',
        security: BEARER,
        params: Code,
        response: { 200: SummarySchema, ...AUTH_ERRORS, 404: ErrorSchema },
      },
    },
    async (request) => departments.summary(currentUser(request), request.params.code),
  );

  fastify.post(
    '/api/departments/:code/tickets/claim',
    {
      onRequest: staff,
      schema: {
        tags: ['departments'],
        summary: '签收下一张工单（办结期限最早的优先，已超期的最先；队列为空时 404 queue_empty）',
        security: BEARER,
        params: Code,
        headers: Type.Object({
          'idempotency-key': Type.Optional(
            Type.String({ minLength: 1, maxLength: 200, description: '重试同一请求时带同一个值：返回已签收的那张工单，不会再签收一张' }),
          ),
        }),
        response: { 200: CaseSchema, ...AUTH_ERRORS, 404: ErrorSchema, 503: ErrorSchema },
      },
    },
    async (request, reply) => {
      const r = await departments.claim(currentUser(request), request.params.code, { idempotencyKey: request.headers['idempotency-key'] });
      if (!r) throw new NotFoundError('当前没有待签收的工单', 'queue_empty');
      if (r.replayed) void reply.header('idempotent-replayed', 'true');
      return r.ticket;
    },
  );

  fastify.get(
    '/api/departments/:code/tickets',
    {
      onRequest: readers,
      schema: {
        tags: ['departments'],
        summary: '部门工单，按紧迫程度排序：已超期的在前，其余按办结期限（默认所有在办状态；mine=true 只看我签收的）',
        security: BEARER,
        params: Code,
        querystring: Type.Object(
          {
            status: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 11, description: `状态（可重复或用逗号分隔）：${STATUSES.join(', ')}` })),
            mine: Type.Optional(Type.Boolean()),
            ...Paging,
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Array(CaseSchema), ...AUTH_ERRORS, 404: ErrorSchema },
      },
    },
    async (request) => departments.tickets(currentUser(request), request.params.code, request.query),
  );

  fastify.get(
    '/api/departments/:code/notices',
    {
      onRequest: readers,
      schema: {
        tags: ['departments'],
        summary: '部门通知（黄牌预警、红牌超期、签收超时、督办）',
        security: BEARER,
        params: Code,
        querystring: Type.Object({ unreadOnly: Type.Optional(Type.Boolean()), ...Paging }, { additionalProperties: false }),
        response: { 200: Type.Array(NoticeSchema), ...AUTH_ERRORS, 404: ErrorSchema },
      },
    },
    async (request) => departments.notices(currentUser(request), request.params.code, request.query),
  );

  fastify.post(
    '/api/departments/:code/notices/:noticeId/read',
    {
      onRequest: staff,
      schema: {
        tags: ['departments'],
        summary: '标记通知已读',
        security: BEARER,
        params: Type.Object({ ...Code.properties, noticeId: BigIntId }),
        response: { 204: Type.Null(), ...AUTH_ERRORS, 404: ErrorSchema },
      },
    },
    async (request, reply) => {
      await departments.markRead(currentUser(request), request.params.code, request.params.noticeId);
      return reply.code(204).send(null);
    },
  );
}
