// Call-control routes: they need Asterisk, so they answer 503 (ari_unavailable) while ARI is down.
import { Type } from 'typebox';
import { BEARER, currentUser, requireRoles } from '../http/auth';
import { AUTH_ERRORS, ErrorSchema } from '../http/schemas';
import type { FastifyTypeBox } from '../http/types';
import { ForbiddenError, NotFoundError, TelephonyDownError } from '../infra/errors';
import type { CallSwitch } from '../telephony/switch';
import type { CallService } from './service';

const CallIdParams = Type.Object({ callId: Type.String({ format: 'uuid' }) });

export function callControlRoutes(fastify: FastifyTypeBox, calls: CallService, sw: CallSwitch): void {
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
    async (req) => {
      if (!sw.isUp) throw new TelephonyDownError('ari');
      const user = currentUser(req);
      const call = calls.registry.get(req.params.callId);
      if (!call) throw new NotFoundError('该通话不在进行中', 'call_not_live');
      if (user.role === 'agent' && call.agentId !== user.agentId) throw new ForbiddenError('只能挂断自己的通话');
      return { ok: await calls.hangupCall(call.id) };
    },
  );

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
