// The dispatcher's work queue (待派单). Dispatching itself is POST /api/cases/{id}/dispatch (cases routes).
import { Type } from 'typebox';
import { BEARER, requireRoles } from '../http/auth';
import { AUTH_ERRORS, Nullable } from '../http/schemas';
import type { FastifyTypeBox } from '../http/types';
import type { DispatchService } from './service';

const SuggestionSchema = Type.Object({
  departmentCode: Type.String(),
  departmentName: Type.String(),
  pastDispatches: Type.Integer({ description: '同类诉求派往该部门的次数' }),
  samePlace: Type.Integer({ description: '其中同一地点（区县）的次数' }),
  basis: Type.String({ description: '建议依据（中文）' }),
});

const WaitingItemSchema = Type.Object({
  id: Type.Integer(),
  trackingNo: Type.String(),
  channel: Type.String({ enum: ['phone', 'web', 'open311'] }),
  status: Type.String({ enum: ['draft', 'returned'] }),
  statusLabel: Type.String(),
  urgency: Type.String({ enum: ['normal', 'urgent'] }),
  title: Type.String(),
  description: Type.String(),
  categoryId: Nullable(Type.Integer()),
  categoryName: Nullable(Type.String()),
  contactName: Nullable(Type.String()),
  contactPhone: Nullable(Type.String()),
  place: Nullable(Type.String({ description: '区县（来电人档案或网上求助地址）' })),
  address: Nullable(Type.String()),
  returnReason: Nullable(Type.String()),
  returnedBy: Nullable(Type.String({ description: '退单部门' })),
  createdAt: Type.String({ format: 'date-time' }),
  waitingMs: Type.Integer(),
  suggestion: Nullable(SuggestionSchema),
});

export function dispatchRoutes(fastify: FastifyTypeBox, dispatch: DispatchService): void {
  fastify.get(
    '/api/dispatch/queue',
    {
      onRequest: requireRoles('dispatcher', 'supervisor', 'admin'),
      schema: {
        tags: ['cases'],
        summary: '待派单队列：等待派往部门的工单和网上求助（紧急在前，其次最早的在前），附建议承办部门（依据同类、同地的历史派单；无历史则不建议）',
        security: BEARER,
        querystring: Type.Object({
          limit: Type.Integer({ minimum: 1, maximum: 200, default: 50, description: '每页条数（1–200）' }),
          offset: Type.Integer({ minimum: 0, maximum: 100000, default: 0 }),
        }),
        response: { 200: Type.Object({ total: Type.Integer(), items: Type.Array(WaitingItemSchema) }), ...AUTH_ERRORS },
      },
    },
    async (request) => dispatch.queue(request.query),
  );
}
