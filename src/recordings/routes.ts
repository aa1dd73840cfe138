// GET /api/calls/:callId/recording: the call's recording, streamed from Asterisk (no Range support).
import { Type } from 'typebox';
import { BEARER, currentUser, requireRoles } from '../http/auth';
import { AUTH_ERRORS, ErrorSchema } from '../http/schemas';
import type { FastifyTypeBox } from '../http/types';
import type { RecordingService } from './service';

export function recordingRoutes(fastify: FastifyTypeBox, recordings: RecordingService): void {
  fastify.get(
    '/api/calls/:callId/recording',
    {
      onRequest: requireRoles('agent', 'supervisor', 'admin'),
      schema: {
        tags: ['calls'],
        summary: '通话录音（班长、管理员可听全部；坐席只能听自己接听的通话）',
        security: BEARER,
        params: Type.Object({ callId: Type.String({ format: 'uuid' }) }),
        response: { ...AUTH_ERRORS, 404: ErrorSchema, 503: ErrorSchema },
      },
    },
    async (req, reply) => {
      const { file, filename } = await recordings.open(currentUser(req), req.params.callId);
      reply.header('content-type', file.contentType);
      if (file.contentLength !== null) reply.header('content-length', String(file.contentLength));
      reply.header('content-disposition', `inline; filename="${filename}"`);
      reply.header('cache-control', 'private, no-store');
      reply.header('accept-ranges', 'none');
      return reply.send(file.stream as never);
    },
  );
}
