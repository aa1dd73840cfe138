// Work-order routes: creation (generic, from a call), the dispatcher inbox, overdue list, one case with history,
// and every transition. Thin: schema → role check → service.
import { Type } from 'typebox';
import { BEARER, currentUser, requireRoles } from '../http/auth';
import { AUTH_ERRORS, BigIntId, ErrorSchema, Nullable } from '../http/schemas';
import type { FastifyTypeBox } from '../http/types';
import type { CasesService } from './service';
import { STATUSES } from '../case-model/status';
import { CaseSchema, type CaseDto } from '../case-model/dto';

const DateTime = Type.String({ format: 'date-time' });

const EventSchema = Type.Object({
  id: Type.Integer(),
  at: DateTime,
  actorId: Nullable(Type.Integer()),
  actorName: Nullable(Type.String()),
  action: Type.String(),
  fromStatus: Nullable(Type.String()),
  toStatus: Type.String(),
  note: Nullable(Type.String()),
  detail: Type.Unknown(),
});

const CaseDetailSchema = Type.Object({ ...CaseSchema.properties, events: Type.Array(EventSchema) });

const Text = (max: number, description: string) => Type.String({ minLength: 1, maxLength: max, description });
const CaseParams = Type.Object({ id: BigIntId });
const Paging = {
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50, description: '每页条数（1–200）' }),
  offset: Type.Integer({ minimum: 0, maximum: 100000, default: 0 }),
};
const CASE_ERRORS = { ...AUTH_ERRORS, 404: ErrorSchema, 409: ErrorSchema };

const CreateFields = {
  title: Type.Optional(Text(200, '标题（默认取诉求内容开头）')),
  description: Type.Optional(Text(10000, '诉求内容')),
  categoryId: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647 })),
  urgency: Type.Optional(Type.String({ enum: ['normal', 'urgent'], default: 'normal' })),
  contactName: Type.Optional(Type.String({ maxLength: 100 })),
  contactPhone: Type.Optional(Type.String({ minLength: 3, maxLength: 32, description: '市民联系电话' })),
  departmentCode: Type.Optional(Text(63, '立即派往的部门代码；不填则留给派单员')),
  note: Type.Optional(Type.String({ maxLength: 2000 })),
};

export function caseRoutes(fastify: FastifyTypeBox, cases: CasesService): void {
  const anyone = requireRoles('agent', 'dispatcher', 'department_staff', 'supervisor', 'admin');
  const dispatchers = requireRoles('dispatcher', 'supervisor', 'admin');
  const dept = requireRoles('department_staff');

  fastify.post(
    '/api/calls/:callId/case',
    {
      onRequest: requireRoles('agent', 'supervisor', 'admin'),
      schema: {
        tags: ['cases'],
        summary: '由通话创建工单（来电人为联系人，通话小结写入诉求内容；可立即派单）',
        security: BEARER,
        params: Type.Object({ callId: Type.String({ format: 'uuid', description: '通话 ID' }) }),
        body: Type.Object(CreateFields, { additionalProperties: false }),
        response: {
          201: Type.Object({
            ...CaseSchema.properties,
            lookupCode: Type.String({ description: '查询码（请告知来电人，凭受理编号和查询码在网上查询进度）' }),
            smsSent: Type.Boolean({ description: '已通过短信网关发送给来电人（未配置网关时为 false）' }),
          }),
          ...CASE_ERRORS,
        },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await cases.createFromCall(currentUser(request), request.params.callId, request.body as never)),
  );

  fastify.post(
    '/api/cases',
    {
      onRequest: requireRoles('agent', 'dispatcher', 'supervisor', 'admin'),
      schema: {
        tags: ['cases'],
        summary: '创建工单（可立即派单，否则为待派单）',
        security: BEARER,
        body: Type.Object(
          {
            ...CreateFields,
            description: Text(10000, '诉求内容'),
            channel: Type.Optional(Type.String({ enum: ['phone', 'web', 'open311'], default: 'phone' })),
            callIds: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { maxItems: 20, uniqueItems: true })),
          },
          { additionalProperties: false },
        ),
        response: { 201: CaseSchema, ...CASE_ERRORS },
      },
    },
    async (request, reply) => reply.code(201).send(await cases.create(currentUser(request), request.body as never)),
  );

  fastify.get(
    '/api/cases',
    {
      onRequest: requireRoles('agent', 'dispatcher', 'department_staff', 'supervisor', 'admin'),
      schema: {
        tags: ['cases'],
        summary: '工单列表（派单员待办：默认 待派单、已退单、延期申请中）',
        security: BEARER,
        querystring: Type.Object(
          {
            status: Type.Optional(Type.Array(Type.String({ enum: [...STATUSES] }), { maxItems: 11, description: '状态，可重复' })),
            departmentCode: Type.Optional(Text(63, '部门代码')),
            ...Paging,
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Array(CaseSchema), ...AUTH_ERRORS, 404: ErrorSchema },
      },
    },
    async (request) => cases.list(currentUser(request), request.query),
  );

  fastify.get(
    '/api/cases/overdue',
    {
      onRequest: dispatchers,
      schema: {
        tags: ['cases'],
        summary: '超期工单（办结超期或签收超期，最早到期的在前）',
        security: BEARER,
        querystring: Type.Object({ departmentCode: Type.Optional(Text(63, '部门代码')), ...Paging }, { additionalProperties: false }),
        response: { 200: Type.Array(CaseSchema), ...AUTH_ERRORS, 404: ErrorSchema },
      },
    },
    async (request) => cases.overdue(request.query),
  );

  fastify.get(
    '/api/cases/:id',
    {
      onRequest: anyone,
      schema: {
        tags: ['cases'],
        summary: '工单详情（含处理记录；部门工作人员只能看本部门的）',
        security: BEARER,
        params: CaseParams,
        response: { 200: CaseDetailSchema, ...AUTH_ERRORS, 404: ErrorSchema },
      },
    },
    async (request) => cases.get(currentUser(request), request.params.id),
  );

  const action = <B extends import('typebox').TSchema>(
    path: string,
    summary: string,
    guard: ReturnType<typeof requireRoles>,
    body: B | null,
    run: (user: ReturnType<typeof currentUser>, id: number, body: never) => Promise<CaseDto>,
  ) =>
    fastify.post(
      `/api/cases/:id/${path}`,
      {
        onRequest: guard,
        schema: {
          tags: ['cases'],
          summary,
          security: BEARER,
          params: CaseParams,
          ...(body ? { body } : {}),
          response: { 200: CaseSchema, ...CASE_ERRORS },
        },
      },
      async (request) => run(currentUser(request), request.params.id, (request.body ?? {}) as never),
    );

  action(
    'dispatch',
    '派单到部门（待派单或已退单的工单）',
    requireRoles('agent', 'dispatcher', 'supervisor', 'admin'),
    Type.Object({ departmentCode: Text(63, '部门代码'), note: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false }),
    (u, id, b) => cases.dispatch(u, id, b),
  );
  action(
    'recall',
    '撤回派单（尚未签收的工单回到待派单）',
    dispatchers,
    Type.Object({ note: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false }),
    (u, id, b) => cases.recall(u, id, b),
  );
  action('sign', '签收指定工单（部门工作人员；一般用 claim 签收下一张）', dept, null, (u, id) => cases.sign(u, id));
  action(
    'progress',
    '填写办理进展',
    dept,
    Type.Object({ note: Text(5000, '办理进展') }, { additionalProperties: false }),
    (u, id, b) => cases.progress(u, id, b),
  );
  action(
    'resolve',
    '办结（填写答复市民的办理结果）',
    dept,
    Type.Object({ reply: Text(5000, '答复内容') }, { additionalProperties: false }),
    (u, id, b) => cases.resolve(u, id, b),
  );
  action(
    'return',
    '退单（非本部门职责等，退回派单员重新派单）',
    dept,
    Type.Object({ reason: Text(2000, '退单理由') }, { additionalProperties: false }),
    (u, id, b) => cases.returnCase(u, id, b),
  );
  action(
    'extension',
    '申请延期（延期工作日数 days 或延期至 until，二选一）',
    dept,
    Type.Object(
      {
        days: Type.Optional(Type.Integer({ minimum: 1, maximum: 60, description: '延期工作日数' })),
        until: Type.Optional(Type.String({ format: 'date-time', description: '延期至' })),
        reason: Text(2000, '延期理由'),
      },
      { additionalProperties: false },
    ),
    (u, id, b) => cases.requestExtension(u, id, b),
  );
  action(
    'extension/decision',
    '审批延期申请（派单员、班长）',
    dispatchers,
    Type.Object({ approve: Type.Boolean(), note: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false }),
    (u, id, b) => cases.decideExtension(u, id, b),
  );
  action(
    'merge',
    '并单（并入另一张工单）',
    dispatchers,
    Type.Object({ intoCaseId: BigIntId, note: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false }),
    (u, id, b) => cases.merge(u, id, b),
  );
}
