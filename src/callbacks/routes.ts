// Callback (回访) routes: the callback list, click-to-call, recording the outcome.
import { Type } from 'typebox';
import { BEARER, currentUser, requireRoles } from '../http/auth';
import { AUTH_ERRORS, BigIntId, ErrorSchema, Nullable } from '../http/schemas';
import type { FastifyTypeBox } from '../http/types';
import { CaseSchema } from '../case-model/dto';
import type { CallbacksService } from './service';

export function callbackRoutes(fastify: FastifyTypeBox, callbacks: CallbacksService): void {
  const agents = requireRoles('agent', 'supervisor', 'admin');

  fastify.get(
    '/api/callbacks',
    {
      onRequest: requireRoles('agent', 'dispatcher', 'supervisor', 'admin'),
      schema: {
        tags: ['callbacks'],
        summary: '回访清单（已办结待回访、回访中；最早办结的在前）',
        security: BEARER,
        querystring: Type.Object(
          {
            status: Type.Optional(Type.String({ enum: ['resolved', 'callback'] })),
            limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
            offset: Type.Integer({ minimum: 0, maximum: 100000, default: 0 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Array(CaseSchema), ...AUTH_ERRORS },
      },
    },
    async (request) => callbacks.list(request.query as never),
  );

  fastify.post(
    '/api/cases/:id/callback',
    {
      onRequest: agents,
      schema: {
        tags: ['callbacks'],
        summary: '记录回访结果（不满意则退回原部门重办；满意/基本满意时，本工单市民和并单转来的市民都回访后结案）',
        security: BEARER,
        params: Type.Object({ id: BigIntId }),
        body: Type.Object(
          {
            solved: Type.Boolean({ description: '问题是否已解决' }),
            satisfaction: Type.String({ enum: ['satisfied', 'basically_satisfied', 'unsatisfied'], description: '满意 / 基本满意 / 不满意' }),
            note: Type.Optional(Type.String({ maxLength: 2000 })),
            contactId: Type.Optional(Type.Integer({ minimum: 1, description: '回访的是并单转来的市民时填其编号（GET /api/cases/{id}/contacts）' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: CaseSchema, ...AUTH_ERRORS, 404: ErrorSchema, 409: ErrorSchema },
      },
    },
    async (request) => callbacks.record(currentUser(request), request.params.id, request.body as never),
  );

  fastify.post(
    '/api/cases/:id/callback/call',
    {
      onRequest: agents,
      schema: {
        tags: ['callbacks'],
        summary: '回访外呼（先呼话务员分机，再呼市民；电话系统不可用时 503 ari_unavailable）',
        security: BEARER,
        params: Type.Object({ id: BigIntId }),
        querystring: Type.Object(
          { contactId: Type.Optional(Type.Integer({ minimum: 1, description: '外呼并单转来的市民（GET /api/cases/{id}/contacts）' })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ caseId: Type.Integer(), status: Type.String(), agentEndpoint: Type.String(), callId: Nullable(Type.String()) }),
          ...AUTH_ERRORS,
          404: ErrorSchema,
          409: ErrorSchema,
          503: ErrorSchema,
        },
      },
    },
    async (request) => callbacks.call(currentUser(request), request.params.id, request.query.contactId),
  );

  fastify.get(
    '/api/cases/:id/contacts',
    {
      onRequest: requireRoles('agent', 'dispatcher', 'supervisor', 'admin'),
      schema: {
        tags: ['callbacks'],
        summary: '并单转来的市民（联系人）及其回访情况',
        security: BEARER,
        params: Type.Object({ id: BigIntId }),
        response: {
          200: Type.Array(
            Type.Object({
              id: Type.Integer(),
              name: Nullable(Type.String()),
              phone: Nullable(Type.String()),
              fromCaseId: Type.Integer(),
              fromTrackingNo: Type.String(),
              callbackDoneAt: Nullable(Type.String({ format: 'date-time' })),
            }),
          ),
          ...AUTH_ERRORS,
          404: ErrorSchema,
        },
      },
    },
    async (request) => callbacks.contacts(currentUser(request), request.params.id),
  );
}
