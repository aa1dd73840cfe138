// Agent seat routes: sign in/out, ready, pause, own state, the supervisors' board, and the console WebSocket
// that receives the screen pop (authenticated by the session cookie, a bearer header or a one-time ?ticket=).
import { Type } from 'typebox';
import { BEARER, currentUser, requireRoles } from '../http/auth';
import { AUTH_ERRORS, ErrorSchema, Nullable } from '../http/schemas';
import type { FastifyTypeBox } from '../http/types';
import type { LiveAuth } from '../http/live-auth';
import type { ScreenPopHub } from './hub';
import type { AgentService } from './service';

const AgentStateSchema = Type.Union([
  Type.Literal('offline'),
  Type.Literal('ready'),
  Type.Literal('paused'),
  Type.Literal('reserved'),
  Type.Literal('busy'),
  Type.Literal('wrap_up'),
]);

const AgentViewSchema = Type.Object({
  agentId: Type.Integer(),
  extension: Type.String(),
  endpoint: Type.String(),
  displayName: Type.String(),
  skills: Type.Array(Type.String()),
  state: AgentStateSchema,
  reason: Nullable(Type.String()),
  since: Type.Integer({ description: '进入当前状态的时间（毫秒时间戳）' }),
  callId: Nullable(Type.String()),
  missed: Type.Integer({ description: '连续未接次数' }),
  device: Nullable(Type.String({ description: '话机设备状态（来自 AMI）' })),
  wrapUntil: Nullable(Type.Integer()),
  pendingPause: Nullable(Type.String({ description: '通话结束后将进入的暂停原因' })),
});

const SEAT_ROLES = ['agent', 'supervisor', 'admin'] as const;
const errors = { ...AUTH_ERRORS, 404: ErrorSchema, 409: ErrorSchema };

export function agentRoutes(fastify: FastifyTypeBox, agents: AgentService, hub: ScreenPopHub, auth: LiveAuth): void {
  const seat = { onRequest: requireRoles(...SEAT_ROLES) };

  fastify.post(
    '/api/agents/me/login',
    {
      ...seat,
      // A bare POST (no body) means "sign in ready".
      preValidation: async (req) => {
        req.body ??= {};
      },
      schema: {
        tags: ['agents'],
        summary: '坐席签入',
        security: BEARER,
        body: Type.Object(
          { state: Type.Optional(Type.Union([Type.Literal('ready'), Type.Literal('paused')], { description: '签入后的状态，默认 ready' })) },
          { additionalProperties: false },
        ),
        response: { 200: AgentViewSchema, ...errors },
      },
    },
    async (req) => agents.login(currentUser(req).agentId, req.body.state ?? 'ready'),
  );

  fastify.post(
    '/api/agents/me/logout',
    { ...seat, schema: { tags: ['agents'], summary: '坐席签出', security: BEARER, response: { 200: AgentViewSchema, ...errors } } },
    async (req) => agents.setState(currentUser(req).agentId, 'offline'),
  );

  fastify.post(
    '/api/agents/me/ready',
    { ...seat, schema: { tags: ['agents'], summary: '示闲（就绪）', security: BEARER, response: { 200: AgentViewSchema, ...errors } } },
    async (req) => agents.setState(currentUser(req).agentId, 'ready'),
  );

  fastify.post(
    '/api/agents/me/pause',
    {
      ...seat,
      schema: {
        tags: ['agents'],
        summary: '示忙（暂停），通话中则在通话结束后生效',
        security: BEARER,
        body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 64, description: '暂停原因，如 休息、培训、整理工单' }) }, { additionalProperties: false }),
        response: { 200: AgentViewSchema, ...errors },
      },
    },
    async (req) => agents.setState(currentUser(req).agentId, 'paused', req.body.reason),
  );

  fastify.post(
    '/api/agents/me/wrapup/done',
    {
      ...seat,
      schema: { tags: ['agents'], summary: '完成话后整理（立即就绪，可接下一个来电）', security: BEARER, response: { 200: AgentViewSchema, ...errors } },
    },
    async (req) => agents.endWrapUp(currentUser(req).agentId),
  );

  fastify.get(
    '/api/agents/me',
    { ...seat, schema: { tags: ['agents'], summary: '当前坐席状态', security: BEARER, response: { 200: AgentViewSchema, ...errors } } },
    async (req) => agents.me(currentUser(req).agentId),
  );

  fastify.get(
    '/api/agents',
    {
      onRequest: requireRoles('supervisor', 'admin'),
      schema: { tags: ['agents'], summary: '坐席监控列表', security: BEARER, response: { 200: Type.Array(AgentViewSchema), ...errors } },
    },
    async () => agents.board(),
  );

  fastify.get(
    '/api/agents/ws',
    {
      websocket: true,
      config: { access: { roles: SEAT_ROLES, note: 'authenticated after the upgrade; the user must have an agent seat' } },
      schema: {
        tags: ['agents'],
        summary: '坐席弹屏 WebSocket（call.offered / call.connected / call.ended / agent.state）',
        querystring: Type.Object(
          { ticket: Type.Optional(Type.String({ minLength: 8, maxLength: 100, description: '一次性票据（POST /api/auth/ticket）' })) },
          { additionalProperties: false },
        ),
      },
    },
    async (socket, req) => {
      // Authenticate before anything is attached; no or a bad credential closes with 4401 so the console can tell.
      const user = await auth.authenticate(req, req.query.ticket).catch(() => null);
      if (!user || user.agentId === null) {
        socket.close(4401, user ? 'not an agent' : 'unauthorized');
        return;
      }
      const agentId = user.agentId;
      const untrack = auth.track(user.id, () => socket.close(4401, 'access revoked'));
      socket.on('close', () => {
        untrack();
        hub.detach(agentId, socket).catch((err: unknown) => req.log.warn({ err }, 'screen pop detach failed'));
      });
      socket.on('message', (data) => {
        // The only message a console sends is a keep-alive ping.
        if (data.toString() === 'ping') socket.send('{"type":"pong"}');
      });
      await hub.attach(agentId, socket);
      const me = await agents.me(agentId);
      socket.send(JSON.stringify({ type: 'hello', agentId, state: me.state, reason: me.reason, callId: me.callId }));
    },
  );
}
