// OpenAPI document at /docs/json, Swagger UI at /docs.
import type { FastifyTypeBox } from './types';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { declarePublicScope } from './access';

export async function registerOpenApi(fastify: FastifyTypeBox): Promise<void> {
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'hotline114 API',
        description: '114阳光政务服务热线后端接口。错误统一为 {error: 代码, message: 中文说明}。',
        version: '0.1.0',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: '令牌：npm run token -- <用户名>' },
        },
      },
      tags: [
        { name: 'system', description: '系统' },
        { name: 'auth', description: '用户与令牌' },
        { name: 'callers', description: '来电人档案' },
        { name: 'calls', description: '通话记录与通话小结' },
        { name: 'reference', description: '部门与分类' },
      ],
    },
  });
  await fastify.register(async (docs) => {
    declarePublicScope(docs, 'API documentation (schemas only, no data)');
    await docs.register(swaggerUi, { routePrefix: '/docs' });
  });
}
