// The browser pages (agent console, department inbox, supervisor/admin, resident portal): static files under
// src/web/public served by the service itself, under the strict Content-Security-Policy every response carries
// (src/http/hooks.ts: scripts and styles from this origin only, no inline code), so a string that slipped into the
// DOM could not run anyway.
import fs from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import { Type } from 'typebox';
import { declarePublicScope } from '../http/access';
import type { FastifyTypeBox } from '../http/types';

/** Where the pages are: next to this file (Docker copies them into dist/web), else the source tree (npm start). */
export function webRoot(): string {
  const candidates = [path.join(__dirname, 'public'), path.resolve(__dirname, '../../src/web/public')];
  return candidates.find((p) => fs.existsSync(path.join(p, 'console', 'index.html'))) ?? candidates[0]!;
}

export const PAGES = ['console', 'department', 'admin', 'portal', 'signin', 'users'] as const;

export async function webRoutes(fastify: FastifyTypeBox, opts: { root?: string; demo?: boolean } = {}): Promise<void> {
  const root = opts.root ?? webRoot();
  // Every page asks once whether this is the try-it mode (npm run demo) and then says so in a banner.
  fastify.get(
    '/api/public/mode',
    {
      config: { access: { public: 'pages show a 演示模式 banner in the try-it mode; nothing else is told' } },
      schema: {
        tags: ['public'],
        summary: '运行模式：demo=true 表示演示模式（模拟电话系统，来电自动生成）',
        response: { 200: Type.Object({ demo: Type.Boolean() }) },
      },
    },
    async () => ({ demo: opts.demo === true }),
  );
  await fastify.register(async (web) => {
    declarePublicScope(web, 'static page files (data comes from the API with its own checks)');
    web.addHook('onSend', async (_request, reply, payload) => {
      // Pages change with deployments: revalidate every time (ETag / Last-Modified make that cheap).
      reply.header('cache-control', 'no-cache');
      return payload;
    });
    // wildcard: false registers one route per file found at start-up (no catch-all route in front of the API).
    await web.register(fastifyStatic, { root, prefix: '/', wildcard: false, decorateReply: false, index: 'index.html', cacheControl: false });
    for (const page of PAGES) {
      web.get(`/${page}`, { schema: { hide: true } }, (_request, reply) => reply.redirect(`/${page}/`));
    }
    web.get('/', { schema: { hide: true } }, (_request, reply) => reply.redirect('/portal/'));
  });
}
