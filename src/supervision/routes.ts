// Supervision routes: the live board (JSON, and a Server-Sent Events stream of it) and listen/whisper/barge.
import type { ServerResponse } from 'node:http';
import { Type } from 'typebox';
import { BEARER, currentUser, requireRoles } from '../http/auth';
import { AUTH_ERRORS, ErrorSchema, Nullable } from '../http/schemas';
import type { FastifyTypeBox } from '../http/types';
import type { LiveAuth } from '../http/live-auth';
import { ForbiddenError, UnauthorizedError } from '../infra/errors';
import type { SupervisionService } from './service';

const LiveCallSchema = Type.Object({
  callId: Type.String(),
  node: Type.String({ description: '处理该通话的服务节点' }),
  state: Type.String({ description: 'queued 排队 / offering 振铃坐席 / connected 通话中 / survey 满意度评价…' }),
  callerNumber: Type.String(),
  agentId: Nullable(Type.Integer()),
  agentChannelId: Nullable(Type.String()),
  startedAt: Type.Integer({ description: '呼入时间（毫秒时间戳）' }),
  queuedAt: Nullable(Type.Integer()),
  connectedAt: Nullable(Type.Integer()),
  durationMs: Type.Integer({ description: '接通后的通话时长，未接通时为呼入以来的时长' }),
});

const BoardAgentSchema = Type.Object({
  agentId: Type.Integer(),
  extension: Type.String(),
  displayName: Type.String(),
  endpoint: Type.String(),
  state: Type.String({ description: '坐席自选状态：offline/ready/paused/reserved/busy/wrap_up' }),
  reason: Nullable(Type.String()),
  since: Type.Integer({ description: '进入当前状态的时间（毫秒时间戳）' }),
  presence: Type.String({ description: '话机状态：available 空闲 / in_use 通话中 / ringing 振铃 / unavailable 未注册或不可达 / unknown' }),
  device: Nullable(Type.String({ description: 'AMI 设备状态原值' })),
  registration: Nullable(Type.String({ description: '最近一次注册状态（PeerStatus/ContactStatus）' })),
  callId: Nullable(Type.String()),
  call: Nullable(
    Type.Object({ callerNumber: Type.String(), state: Type.String(), since: Type.Integer(), node: Type.String() }),
  ),
  missedInRow: Type.Integer({ description: '连续未接次数' }),
  missedToday: Type.Integer({ description: '今日未接（振铃未应答、忙、失败）次数' }),
});

export const BoardSchema = Type.Object({
  generatedAt: Type.String(),
  queue: Type.Object({ waiting: Type.Integer({ description: '排队等待人数' }), longestWaitMs: Type.Integer({ description: '最长等待时长（毫秒）' }) }),
  agents: Type.Array(BoardAgentSchema),
  calls: Type.Array(LiveCallSchema),
  nodes: Type.Array(Type.Object({ node: Type.String(), at: Type.Integer(), active: Type.Integer(), waiting: Type.Integer() })),
  telephony: Type.Object({ ari: Type.String(), ami: Type.String() }),
  summary: Type.Record(Type.String(), Type.Integer(), { description: '各状态坐席人数' }),
});

const BOARD_ROLES = ['supervisor', 'admin'] as const;

export function supervisionRoutes(fastify: FastifyTypeBox, service: SupervisionService, auth: LiveAuth): void {
  // Open board streams end when the server closes (they would otherwise hold shutdown until the client leaves).
  const streams = new Set<ServerResponse>();
  fastify.addHook('preClose', async () => {
    for (const res of streams) {
      res.end();
      res.socket?.destroy();
    }
    streams.clear();
  });
  fastify.get(
    '/api/supervision/board',
    {
      onRequest: requireRoles(...BOARD_ROLES),
      schema: {
        tags: ['supervision'],
        summary: '班长监控大屏：坐席状态、排队情况、全部服务节点的在线通话',
        security: BEARER,
        response: { 200: BoardSchema, ...AUTH_ERRORS },
      },
    },
    async () => service.board(),
  );

  fastify.get(
    '/api/supervision/board/stream',
    {
      config: { access: { roles: BOARD_ROLES, note: 'own guard: session cookie, bearer header or one-time ?ticket=' } },
      // EventSource sends the session cookie; clients with a bearer token set the header or use a one-time ticket.
      preHandler: async (req) => {
        const user = await auth.authenticate(req, req.query.ticket).catch(() => null);
        if (!user) throw new UnauthorizedError();
        if (!(BOARD_ROLES as readonly string[]).includes(user.role)) throw new ForbiddenError();
      },
      schema: {
        tags: ['supervision'],
        summary: '监控大屏推送（Server-Sent Events，event: board，每 intervalMs 毫秒一次）',
        security: BEARER,
        querystring: Type.Object(
          {
            ticket: Type.Optional(Type.String({ minLength: 8, maxLength: 100, description: '一次性票据（POST /api/auth/ticket），供无法设置请求头的客户端使用' })),
            intervalMs: Type.Integer({ minimum: 500, maximum: 60000, default: 2000, description: '推送间隔（毫秒）' }),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      // HEAD (Fastify's automatic one runs this handler) gets the stream's headers, not an endless stream.
      if (req.method === 'HEAD') return reply.header('content-type', 'text/event-stream; charset=utf-8').header('cache-control', 'no-cache, no-transform').send();
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(': hotline114 board\n\n');
      let busy = false;
      const push = async () => {
        if (busy || res.destroyed) return;
        busy = true;
        try {
          res.write(`event: board\ndata: ${JSON.stringify(await service.board())}\n\n`);
        } catch (err) {
          req.log.warn({ err }, 'board stream update failed');
          res.write(`event: error\ndata: ${JSON.stringify({ error: 'board_unavailable', message: '监控数据暂时不可用' })}\n\n`);
        } finally {
          busy = false;
        }
      };
      const timer = setInterval(() => void push(), req.query.intervalMs);
      streams.add(res);
      const socket = req.raw.socket;
      const untrack = auth.track(currentUser(req).id, () => res.end());
      res.on('close', () => {
        untrack();
        clearInterval(timer);
        streams.delete(res);
        // The client went away: do not keep a half-open socket (it would hold the server's shutdown).
        socket.destroy();
      });
      await push();
    },
  );

  fastify.post(
    '/api/supervision/calls/:callId/spy',
    {
      onRequest: requireRoles('supervisor'),
      schema: {
        tags: ['supervision'],
        summary: '监听 / 耳语 / 强插：先呼叫班长自己的分机，接听后进入坐席的通话（AMI Originate + ChanSpy）',
        security: BEARER,
        params: Type.Object({ callId: Type.String({ format: 'uuid' }) }),
        body: Type.Object(
          {
            mode: Type.Union([Type.Literal('listen'), Type.Literal('whisper'), Type.Literal('barge')], {
              description: 'listen 监听（双方都听不到班长）/ whisper 耳语（只有坐席听到）/ barge 强插（三方通话）',
            }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            sessionId: Type.Integer(),
            callId: Type.String(),
            mode: Type.String(),
            endpoint: Type.String({ description: '被呼叫的班长分机' }),
            agentChannel: Type.String({ description: '被监听的坐席通道' }),
            data: Type.String({ description: 'ChanSpy 参数' }),
          }),
          ...AUTH_ERRORS,
          404: ErrorSchema,
          409: ErrorSchema,
          503: ErrorSchema,
        },
      },
    },
    async (req) => service.spy(currentUser(req), req.params.callId, req.body.mode),
  );
}
