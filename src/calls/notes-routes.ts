// Call records and their notes (通话小结).
import { Type } from 'typebox';
import { BEARER, currentUser, requireRoles } from '../http/auth';
import { AUTH_ERRORS, BigIntId, Cursor, ErrorSchema, IntId, Nullable, PageLimit } from '../http/schemas';
import type { FastifyTypeBox } from '../http/types';
import { CallPageSchema, CallSummarySchema } from '../callers/routes';
import type { NotesService } from './notes-service';

const DateTime = Type.String({ format: 'date-time' });
const CallId = Type.String({ format: 'uuid', description: '通话 ID' });

const NoteSchema = Type.Object({
  id: Type.Integer(),
  callId: Type.String(),
  agentId: Nullable(Type.Integer()),
  authorId: Type.Integer(),
  authorName: Type.String(),
  categoryId: Nullable(Type.Integer()),
  categoryName: Nullable(Type.String()),
  content: Type.String(),
  resolved: Type.Boolean(),
  createdAt: DateTime,
  updatedAt: DateTime,
});

const CallDetailSchema = Type.Object({
  ...CallSummarySchema.properties,
  nodeId: Type.String(),
  channelId: Type.String(),
  agentChannelId: Nullable(Type.String()),
  bridgeId: Nullable(Type.String()),
  skill: Nullable(Type.String()),
  offerCount: Type.Integer(),
  queuedAt: Nullable(DateTime),
  offeredAt: Nullable(DateTime),
  hangupCause: Nullable(Type.String()),
  recordingName: Nullable(Type.String()),
  notes: Type.Array(NoteSchema),
  offers: Type.Array(
    Type.Object({
      id: Type.Integer(),
      agentId: Type.Integer(),
      agentName: Nullable(Type.String()),
      channelId: Nullable(Type.String()),
      offeredAt: DateTime,
      endedAt: Nullable(DateTime),
      result: Nullable(Type.String()),
    }),
  ),
  events: Type.Array(
    Type.Object({
      id: Type.Integer(),
      at: DateTime,
      fromState: Nullable(Type.String()),
      toState: Type.String(),
      detail: Type.Unknown(),
    }),
  ),
});

const Content = Type.String({ minLength: 1, maxLength: 5000, description: '小结内容，1–5000 字' });

const CreateNoteBody = Type.Object(
  {
    content: Content,
    categoryId: Type.Optional(IntId),
    resolved: Type.Optional(Type.Boolean({ default: false, description: '是否已在电话中解决' })),
  },
  { additionalProperties: false },
);

const PatchNoteBody = Type.Object(
  {
    content: Type.Optional(Content),
    categoryId: Type.Optional(Nullable(IntId)),
    resolved: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);

const Range = {
  from: Type.Optional(Type.String({ format: 'date-time', description: '开始时间（含）' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: '结束时间（不含）' })),
  limit: PageLimit,
  cursor: Type.Optional(Cursor),
};

export function notesRoutes(fastify: FastifyTypeBox, notes: NotesService): void {
  const writers = requireRoles('agent', 'supervisor', 'admin');
  const readers = requireRoles('agent', 'dispatcher', 'supervisor', 'admin');

  fastify.post(
    '/api/calls/:callId/notes',
    {
      onRequest: writers,
      schema: {
        tags: ['calls'],
        summary: '填写通话小结（接听该通话的话务员或班长）',
        security: BEARER,
        params: Type.Object({ callId: CallId }),
        body: CreateNoteBody,
        response: { 201: NoteSchema, ...AUTH_ERRORS, 404: ErrorSchema },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await notes.addNote(currentUser(request), request.params.callId, request.body)),
  );

  fastify.patch(
    '/api/calls/:callId/notes/:noteId',
    {
      onRequest: writers,
      schema: {
        tags: ['calls'],
        summary: '修改通话小结（作者本人或班长）',
        security: BEARER,
        params: Type.Object({ callId: CallId, noteId: BigIntId }),
        body: PatchNoteBody,
        response: { 200: NoteSchema, ...AUTH_ERRORS, 404: ErrorSchema },
      },
    },
    async (request) => notes.updateNote(currentUser(request), request.params.callId, request.params.noteId, request.body),
  );

  fastify.get(
    '/api/calls/:callId',
    {
      onRequest: readers,
      schema: {
        tags: ['calls'],
        summary: '通话记录（含小结、振铃记录、状态变化）',
        security: BEARER,
        params: Type.Object({ callId: CallId }),
        response: { 200: CallDetailSchema, ...AUTH_ERRORS, 404: ErrorSchema },
      },
    },
    async (request) => notes.getCall(currentUser(request), request.params.callId),
  );

  fastify.get(
    '/api/calls',
    {
      onRequest: readers,
      schema: {
        tags: ['calls'],
        summary: '通话记录查询（按话务员/来电号码/时间，新的在前，游标分页；话务员默认只看自己的）',
        security: BEARER,
        querystring: Type.Object({
          agentId: Type.Optional(IntId),
          callerNumber: Type.Optional(Type.String({ minLength: 3, maxLength: 32 })),
          ...Range,
        }),
        response: { 200: CallPageSchema, ...AUTH_ERRORS },
      },
    },
    async (request) => notes.listCalls(currentUser(request), request.query),
  );

  fastify.get(
    '/api/agents/:agentId/calls',
    {
      onRequest: readers,
      schema: {
        tags: ['calls'],
        summary: '话务员的通话记录（话务员只能看自己的）',
        security: BEARER,
        params: Type.Object({ agentId: IntId }),
        querystring: Type.Object(Range),
        response: { 200: CallPageSchema, ...AUTH_ERRORS, 404: ErrorSchema },
      },
    },
    async (request) => notes.listAgentCalls(currentUser(request), request.params.agentId, request.query),
  );
}
