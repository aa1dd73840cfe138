// Caller records: lookup by number, read, create (number unique), update, call history.
import { Type } from 'typebox';
import { BEARER, requireRoles } from '../http/auth';
import { AUTH_ERRORS, Cursor, ErrorSchema, IdParams, Nullable, PageLimit } from '../http/schemas';
import type { FastifyTypeBox } from '../http/types';
import type { CallersService } from './service';

const Gender = Type.Union([Type.Literal('male'), Type.Literal('female'), Type.Literal('unknown')]);
const DateTime = Type.String({ format: 'date-time' });

export const CallerSchema = Type.Object({
  id: Type.Integer(),
  number: Type.String(),
  name: Nullable(Type.String()),
  gender: Nullable(Gender),
  address: Nullable(Type.String()),
  district: Nullable(Type.String()),
  note: Nullable(Type.String()),
  tags: Type.Array(Type.String()),
  vip: Type.Boolean(),
  createdAt: DateTime,
  updatedAt: DateTime,
});

export const CallSummarySchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  direction: Type.String(),
  callerNumber: Type.String(),
  callerName: Nullable(Type.String()),
  callerId: Nullable(Type.Integer()),
  state: Type.String(),
  outcome: Nullable(Type.String()),
  agentId: Nullable(Type.Integer()),
  agentName: Nullable(Type.String()),
  startedAt: DateTime,
  answeredAt: Nullable(DateTime),
  connectedAt: Nullable(DateTime),
  endedAt: Nullable(DateTime),
  waitMs: Nullable(Type.Integer()),
  talkMs: Nullable(Type.Integer()),
  hangupBy: Nullable(Type.String()),
  categoryId: Nullable(Type.Integer()),
  categoryName: Nullable(Type.String()),
  resolvedOnPhone: Nullable(Type.Boolean()),
  noteCount: Type.Integer(),
});

export const CallPageSchema = Type.Object({
  items: Type.Array(CallSummarySchema),
  nextCursor: Nullable(Type.String({ description: '下一页的游标；没有更多时为 null' })),
});

const PhoneInput = Type.String({ minLength: 3, maxLength: 32, description: '电话号码（空格、短横线会被去掉，保留开头的 +）' });

const editable = {
  name: Type.Optional(Nullable(Type.String({ maxLength: 50 }))),
  gender: Type.Optional(Nullable(Gender)),
  address: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  district: Type.Optional(Nullable(Type.String({ maxLength: 50 }))),
  note: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
  tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 30 }), { maxItems: 20, uniqueItems: true })),
  vip: Type.Optional(Type.Boolean()),
};

const CreateBody = Type.Object({ number: PhoneInput, ...editable }, { additionalProperties: false });
const PatchBody = Type.Object(editable, { additionalProperties: false, minProperties: 1 });

export function callerRoutes(fastify: FastifyTypeBox, callers: CallersService): void {
  const staff = requireRoles('agent', 'dispatcher', 'supervisor', 'admin');

  fastify.get(
    '/api/callers',
    {
      onRequest: staff,
      schema: {
        tags: ['callers'],
        summary: '按号码精确查找来电人（0 或 1 条）',
        security: BEARER,
        querystring: Type.Object({ number: PhoneInput }),
        response: { 200: Type.Array(CallerSchema), ...AUTH_ERRORS },
      },
    },
    async (request) => {
      const c = await callers.findByNumber(request.query.number);
      return c ? [c] : [];
    },
  );

  fastify.get(
    '/api/callers/:id',
    {
      onRequest: staff,
      schema: {
        tags: ['callers'],
        summary: '来电人档案',
        security: BEARER,
        params: IdParams,
        response: { 200: CallerSchema, ...AUTH_ERRORS, 404: ErrorSchema },
      },
    },
    async (request) => callers.get(request.params.id),
  );

  fastify.post(
    '/api/callers',
    {
      onRequest: staff,
      schema: {
        tags: ['callers'],
        summary: '新建来电人档案（号码唯一，已存在时 409）',
        security: BEARER,
        body: CreateBody,
        response: { 201: CallerSchema, ...AUTH_ERRORS, 409: ErrorSchema },
      },
    },
    async (request, reply) => reply.code(201).send(await callers.create(request.body)),
  );

  fastify.patch(
    '/api/callers/:id',
    {
      onRequest: staff,
      schema: {
        tags: ['callers'],
        summary: '修改来电人档案',
        security: BEARER,
        params: IdParams,
        body: PatchBody,
        response: { 200: CallerSchema, ...AUTH_ERRORS, 404: ErrorSchema },
      },
    },
    async (request) => callers.update(request.params.id, request.body),
  );

  fastify.get(
    '/api/callers/:id/calls',
    {
      onRequest: staff,
      schema: {
        tags: ['callers'],
        summary: '来电人的通话历史（新的在前，游标分页）',
        security: BEARER,
        params: IdParams,
        querystring: Type.Object({ limit: PageLimit, cursor: Type.Optional(Cursor) }),
        response: { 200: CallPageSchema, ...AUTH_ERRORS, 404: ErrorSchema },
      },
    },
    async (request) => callers.callHistory(request.params.id, request.query),
  );
}
