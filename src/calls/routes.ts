// Call-control routes: they need Asterisk, so they answer 503 (ari_unavailable) while ARI is down.
import { Type } from 'typebox';
import { BEARER, currentUser, requireRoles } from '../http/auth';
import { AUTH_ERRORS, ErrorSchema } from '../http/schemas';
import type { FastifyTypeBox } from '../http/types';
import { BadRequestError, ForbiddenError, NotFoundError, TelephonyDownError } from '../infra/errors';
import type { CallSwitch } from '../telephony/switch';
import type { CallService } from './service';

const CallIdParams = Type.Object({ callId: Type.String({ format: 'uuid' }) });

export function callControlRoutes(fastify: FastifyTypeBox, calls: CallService, sw: CallSwitch): void {
  const live = (req: { params: { callId: string } }, user: { role: string; agentId: number | null }) => {
    if (!sw.isUp) throw new TelephonyDownError('ari');
    const call = calls.registry.get(req.params.callId);
    if (!call) throw new NotFoundError('该通话不在进行中', 'call_not_live');
    if (user.role === 'agent' && call.agentId !== user.agentId) throw new ForbiddenError('只能操作自己的通话');
    return call;
  };

  fastify.post(
    '/api/calls/:callId/hangup',
    {
      onRequest: requireRoles('agent', 'supervisor', 'admin'),
      schema: {
        tags: ['calls'],
        summary: '挂断通话',
        security: BEARER,
        params: CallIdParams,
        response: { 200: Type.Object({ ok: Type.Boolean() }), ...AUTH_ERRORS, 404: ErrorSchema, 503: ErrorSchema },
      },
    },
    async (req) => ({ ok: await calls.hangupCall(live(req, currentUser(req)).id) }),
  );

  const TransferBody = Type.Object(
    {
      mode: Type.Union([Type.Literal('blind'), Type.Literal('three_way')], { description: 'blind 一键转接（坐席立即释放）；three_way 三方通话' }),
      departmentCode: Type.Optional(Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9][a-z0-9-]*$' })),
      number: Type.Optional(Type.String({ minLength: 3, maxLength: 20, pattern: '^\\+?[0-9]+$' })),
      police: Type.Optional(Type.Literal(true, { description: '110 联动' })),
    },
    { additionalProperties: false },
  );

  fastify.post(
    '/api/calls/:callId/transfer',
    {
      onRequest: requireRoles('agent', 'supervisor', 'admin'),
      schema: {
        tags: ['calls'],
        summary: '一键转接 / 三方通话 / 110 联动（departmentCode、number、police 三选一）',
        security: BEARER,
        params: CallIdParams,
        body: TransferBody,
        response: {
          200: Type.Object({ transferId: Type.Integer(), target: Type.String() }),
          ...AUTH_ERRORS,
          404: ErrorSchema,
          409: ErrorSchema,
          503: ErrorSchema,
        },
      },
    },
    async (req) => {
      const user = currentUser(req);
      live(req, user);
      const b = req.body;
      const chosen = [b.departmentCode !== undefined, b.number !== undefined, b.police === true].filter(Boolean).length;
      if (chosen !== 1) throw new BadRequestError('请在部门、电话号码和 110 中选择且只选择一个转接目标', 'transfer_target_required');
      const target = b.police ? { police: true as const } : b.departmentCode ? { departmentCode: b.departmentCode } : { number: b.number! };
      return calls.transfer(req.params.callId, target, b.mode, user.id);
    },
  );

  for (const [suffix, summary, action] of [
    ['complete', '坐席退出三方通话（来电与部门继续通话）', (id: string) => calls.completeTransfer(id)],
    ['cancel', '取消转接（挂断被转接方）', (id: string) => calls.cancelTransfer(id)],
  ] as const) {
    fastify.post(
      `/api/calls/:callId/transfer/${suffix}`,
      {
        onRequest: requireRoles('agent', 'supervisor', 'admin'),
        schema: {
          tags: ['calls'],
          summary,
          security: BEARER,
          params: CallIdParams,
          response: { 200: Type.Object({ ok: Type.Boolean() }), ...AUTH_ERRORS, 404: ErrorSchema, 409: ErrorSchema, 503: ErrorSchema },
        },
      },
      async (req) => {
        live(req, currentUser(req));
        await action(req.params.callId);
        return { ok: true };
      },
    );
  }

  fastify.get(
    '/api/calls/live',
    {
      onRequest: requireRoles('supervisor', 'admin'),
      schema: {
        tags: ['calls'],
        summary: '本节点正在进行的通话与排队情况',
        security: BEARER,
        response: {
          200: Type.Object({
            telephony: Type.Union([Type.Literal('up'), Type.Literal('down')]),
            waiting: Type.Integer(),
            longestWaitMs: Type.Integer(),
            calls: Type.Array(
              Type.Object({
                callId: Type.String(),
                state: Type.String(),
                callerNumber: Type.String(),
                agentId: Type.Union([Type.Integer(), Type.Null()]),
                startedAt: Type.String(),
              }),
            ),
          }),
          ...AUTH_ERRORS,
        },
      },
    },
    async () => {
      const s = calls.stats();
      return {
        telephony: sw.isUp ? ('up' as const) : ('down' as const),
        waiting: s.waiting,
        longestWaitMs: s.longestWaitMs,
        calls: calls.registry.all().map((c) => ({
          callId: c.id,
          state: c.state,
          callerNumber: c.callerNumber,
          agentId: c.agentId ?? c.offer?.agentId ?? null,
          startedAt: new Date(c.startedAt).toISOString(),
        })),
      };
    },
  );
}
