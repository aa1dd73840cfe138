// Open311 GeoReport v2 under /open311/v2 (https://wiki.open311.org/GeoReport_v2): services, service definitions,
// POST/GET requests, GET one request, as .json (and .xml), and discovery.json. Errors in the spec's format: an array
// of {code, description} with the HTTP status as code. Extensions (documented in OpenAPI and discovery.json):
// extended_attributes {h114_status, h114_status_label, channel, merged_into, description_public, location_precision,
// history: [{at, action, status, status_label}]}.
// GET answers the public view only (src/intake/public-view.ts): PUBLIC_NOTE below says what is and is not published.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { validationProblems, type AjvLikeError } from '../http/errors';
import { declarePublicScope } from '../http/access';
import { decodeUtf8Strict, InvalidCharactersError } from '../http/input-guard';
import { Nullable } from '../http/schemas';
import type { FastifyTypeBox } from '../http/types';
import { asUnavailable } from '../infra/unavailable';
import { AppError } from '../infra/errors';
import { DESCRIPTION_MAX, Open311Error, type IntakeService } from './service';
import { toXml } from './xml';

const Open311ErrorSchema = Type.Array(Type.Object({ code: Type.Integer(), description: Type.String() }));
const ERRORS = { 400: Open311ErrorSchema, 403: Open311ErrorSchema, 404: Open311ErrorSchema, 429: Open311ErrorSchema };

const ServiceSchema = Type.Object({
  service_code: Type.String(),
  service_name: Type.String(),
  description: Type.String(),
  metadata: Type.Boolean(),
  type: Type.String(),
  keywords: Type.String(),
  group: Type.String(),
});

const AttributeSchema = Type.Object({
  variable: Type.Boolean(),
  code: Type.String(),
  datatype: Type.String(),
  required: Type.Boolean(),
  datatype_description: Type.String(),
  order: Type.Integer(),
  description: Type.String(),
  values: Type.Optional(Type.Array(Type.Object({ key: Type.String(), name: Type.String() }))),
});

const RequestSchema = Type.Object({
  service_request_id: Type.String(),
  status: Type.String({ description: 'open | closed' }),
  status_notes: Nullable(Type.String()),
  service_name: Nullable(Type.String()),
  service_code: Nullable(Type.String()),
  description: Nullable(Type.String({ description: '仅在工作人员审核并公开后显示（已脱敏）；否则为 null' })),
  agency_responsible: Nullable(Type.String()),
  service_notice: Nullable(Type.String()),
  requested_datetime: Type.String(),
  updated_datetime: Type.String(),
  expected_datetime: Nullable(Type.String()),
  address: Nullable(Type.String({ description: '粗略位置：街道/小区名（门牌、楼号、单元、房号不公开）；PUBLIC_LOCATION=grid 时为 null' })),
  address_id: Nullable(Type.String({ description: '不公开，恒为 null' })),
  zipcode: Nullable(Type.String()),
  lat: Nullable(Type.Number({ description: '网格中心点（默认 500 米网格），不是精确位置' })),
  long: Nullable(Type.Number()),
  media_url: Nullable(Type.String({ description: '仅在描述公开后显示' })),
  extended_attributes: Type.Object(
    {
      h114_status: Type.String({ description: '热线工单状态（draft、dispatched、signed、in_progress、resolved、callback、closed、returned、extension_requested、reopened、merged）' }),
      h114_status_label: Type.String(),
      channel: Type.String(),
      merged_into: Nullable(Type.String({ description: '并单时并入的工单受理编号' })),
      description_public: Type.Boolean({ description: '诉求描述是否经审核公开' }),
      location_precision: Type.String({ description: 'street（街道/小区 + 网格坐标）或 grid（仅网格坐标）' }),
      history: Type.Array(Type.Object({ at: Type.String(), action: Type.String(), status: Type.String(), status_label: Type.String() })),
    },
    { description: '扩展字段：热线的详细状态和办理历史' },
  ),
});

/** What GET publishes and what it never does (shown in discovery.json and the OpenAPI descriptions). */
export const PUBLIC_NOTE =
  '公开内容：服务类别、状态及办理历史、受理/更新/预计办结时间、承办部门、部门的公开答复（已脱敏）、粗略位置（街道/小区名或网格中心点）。' +
  '不公开：市民的诉求描述（除非工作人员审核后标记公开，且公开时经脱敏）、姓名、电话、邮箱、设备/账号标识、精确地址（门牌、楼号、单元、房号）和照片链接（随描述一起公开）。';

const FormatFile = Type.String({ pattern: '^[^/]+\\.(json|xml)$', description: '<id>.json 或 <id>.xml' });

function formatOf(url: string): 'json' | 'xml' {
  return /\.xml(\?|$)/.test(url) ? 'xml' : 'json';
}

function splitFile(file: string): [string, 'json' | 'xml'] {
  const m = /^(.+)\.(json|xml)$/.exec(file);
  if (!m) throw new Open311Error(404, '请使用 .json 或 .xml 结尾的地址');
  return [decodeURIComponent(m[1]!), m[2] as 'json' | 'xml'];
}

function send(reply: FastifyReply, format: 'json' | 'xml', root: string, value: unknown, status = 200) {
  reply.code(status);
  if (format === 'xml') return reply.type('application/xml; charset=utf-8').send(toXml(root, value));
  return reply.send(value);
}

function errorBody(err: unknown, request: FastifyRequest): { status: number; body: { code: number; description: string }[] } {
  err = asUnavailable(err) ?? err; // database/Redis down or too slow: 503, as on every route
  const fe = err as FastifyError & { validationContext?: string };
  if (Array.isArray(fe.validation)) {
    const msgs = validationProblems(fe.validationContext, fe.validation as unknown as AjvLikeError[]).map((p) => p.message);
    return { status: 400, body: [...new Set(msgs)].map((m) => ({ code: 400, description: m })) };
  }
  if (err instanceof AppError) return { status: err.statusCode, body: [{ code: err.statusCode, description: err.message }] };
  const status = typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500 ? fe.statusCode : 500;
  if (status === 500) request.log.error({ err }, 'unhandled error (open311)');
  const description = status === 500 ? '服务器内部错误' : status === 413 ? '请求体过大' : status === 415 ? '不支持的内容类型' : '请求无效';
  return { status, body: [{ code: status, description }] };
}

export function open311Routes(fastify: FastifyTypeBox, intake: IntakeService, limits: { read: object; write: object }): void {
  void fastify.register(
    async (f: FastifyTypeBox) => {
      declarePublicScope(f, 'Open311 GeoReport v2 (reads: public view only; POST needs an api_key)');
      f.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer', bodyLimit: 64 * 1024 }, (_req, body, done) => {
        // Strict: URLSearchParams would turn invalid UTF-8 into U+FFFD silently; NUL is refused by the input guard.
        try {
          const params: Record<string, string> = {};
          for (const pair of decodeUtf8Strict(body as Buffer).split('&')) {
            if (!pair) continue;
            const eq = pair.indexOf('=');
            const [k, v] = eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
            params[decodeURIComponent(k.replace(/\+/g, ' '))] = decodeURIComponent(v.replace(/\+/g, ' '));
          }
          done(null, params);
        } catch {
          done(new InvalidCharactersError(), undefined);
        }
      });
      f.setErrorHandler((err, request, reply) => {
        const { status, body } = errorBody(err, request);
        return send(reply, formatOf(request.url), 'errors', body, status);
      });
      f.setNotFoundHandler((request, reply) => send(reply, formatOf(request.url), 'errors', [{ code: 404, description: '接口不存在' }], 404));

      f.get(
        '/discovery.json',
        {
          config: { rateLimit: limits.read },
          schema: {
            tags: ['open311'],
            summary: 'Open311 服务发现（含隐私说明）',
            response: {
              200: Type.Object({
                changeset: Type.String(),
                contact: Type.String(),
                key_service: Type.String(),
                h114_privacy: Type.String({ description: '公开与不公开的内容' }),
                endpoints: Type.Array(Type.Object({ specification: Type.String(), url: Type.String(), changeset: Type.String(), type: Type.String(), formats: Type.Array(Type.String()) })),
              }),
            },
          },
        },
        async (request) => ({
          changeset: '2026-12-04T00:00:00Z',
          contact: '114 热线',
          key_service: '提交请求需要 api_key，请联系热线管理员（GET 查询无需 api_key，仅返回公开信息）',
          h114_privacy: PUBLIC_NOTE,
          endpoints: [
            {
              specification: 'http://wiki.open311.org/GeoReport_v2',
              url: `${request.protocol}://${request.host}/open311/v2`,
              changeset: '2026-12-04T00:00:00Z',
              type: 'production',
              formats: ['application/json', 'text/xml'],
            },
          ],
        }),
      );

      for (const format of ['json', 'xml'] as const) {
        f.get(
          `/services.${format}`,
          {
            config: { rateLimit: limits.read },
            schema: { tags: ['open311'], summary: `服务列表（诉求分类）.${format}`, querystring: Type.Object({ jurisdiction_id: Type.Optional(Type.String()) }), response: { 200: Type.Array(ServiceSchema), ...ERRORS } },
          },
          async (_request, reply) => send(reply, format, 'services', await intake.services()),
        );
      }

      f.get(
        '/services/:file',
        {
          config: { rateLimit: limits.read },
          schema: {
            tags: ['open311'],
            summary: '服务定义（含属性）：/services/{service_code}.json',
            params: Type.Object({ file: FormatFile }),
            querystring: Type.Object({ jurisdiction_id: Type.Optional(Type.String()) }),
            response: { 200: Type.Object({ service_code: Type.String(), attributes: Type.Array(AttributeSchema) }), ...ERRORS },
          },
        },
        async (request, reply) => {
          const [code, format] = splitFile(request.params.file);
          return send(reply, format, 'service_definition', await intake.serviceDefinition(code));
        },
      );

      const ListQuery = Type.Object({
        jurisdiction_id: Type.Optional(Type.String()),
        service_request_id: Type.Optional(Type.String({ maxLength: 4000, description: '逗号分隔的受理编号' })),
        service_code: Type.Optional(Type.String({ maxLength: 1000, description: '逗号分隔的服务代码' })),
        start_date: Type.Optional(Type.String({ maxLength: 40, description: 'ISO 8601；与 end_date 相隔不超过 90 天' })),
        end_date: Type.Optional(Type.String({ maxLength: 40 })),
        status: Type.Optional(Type.String({ maxLength: 20, description: 'open、closed 或 open,closed' })),
        extensions: Type.Optional(Type.String()),
      });

      const PostBody = Type.Object(
        {
          api_key: Type.Optional(Type.String({ maxLength: 200 })),
          jurisdiction_id: Type.Optional(Type.String()),
          service_code: Type.Optional(Type.String({ maxLength: 64 })),
          description: Type.Optional(Type.String({ maxLength: DESCRIPTION_MAX, description: `最多 ${DESCRIPTION_MAX} 字` })),
          lat: Type.Optional(Type.Union([Type.String({ maxLength: 30 }), Type.Number()])),
          long: Type.Optional(Type.Union([Type.String({ maxLength: 30 }), Type.Number()])),
          address_string: Type.Optional(Type.String({ maxLength: 500 })),
          address_id: Type.Optional(Type.String({ maxLength: 100 })),
          zipcode: Type.Optional(Type.String({ maxLength: 20 })),
          email: Type.Optional(Type.String({ maxLength: 200 })),
          device_id: Type.Optional(Type.String({ maxLength: 100 })),
          account_id: Type.Optional(Type.String({ maxLength: 100 })),
          first_name: Type.Optional(Type.String({ maxLength: 50 })),
          last_name: Type.Optional(Type.String({ maxLength: 50 })),
          phone: Type.Optional(Type.String({ maxLength: 32 })),
          media_url: Type.Optional(Type.String({ maxLength: 1000 })),
        },
        { additionalProperties: true, description: '另可带 attribute[code]=value' },
      );

      for (const format of ['json', 'xml'] as const) {
        f.get(
          `/requests.${format}`,
          {
            config: { rateLimit: limits.read },
            schema: { tags: ['open311'], summary: `查询服务请求（默认最近 90 天，仅公开信息）.${format}`, description: PUBLIC_NOTE, querystring: ListQuery, response: { 200: Type.Array(RequestSchema), ...ERRORS } },
          },
          async (request, reply) => send(reply, format, 'service_requests', await intake.listOpen311(request.query)),
        );

        f.post(
          `/requests.${format}`,
          {
            config: { rateLimit: limits.write },
            schema: {
              tags: ['open311'],
              summary: `提交服务请求（需要 api_key；表单或 JSON）.${format}`,
              body: PostBody,
              response: {
                201: Type.Array(Type.Object({ service_request_id: Type.String(), service_notice: Type.String(), account_id: Nullable(Type.String()) })),
                ...ERRORS,
              },
            },
          },
          async (request, reply) => send(reply, format, 'service_requests', await intake.createOpen311(request.body as Record<string, unknown>), 201),
        );
      }

      f.get(
        '/requests/:file',
        {
          config: { rateLimit: limits.read },
          schema: {
            tags: ['open311'],
            summary: '单个服务请求：/requests/{service_request_id}.json（仅公开信息）',
            description: PUBLIC_NOTE,
            params: Type.Object({ file: FormatFile }),
            querystring: Type.Object({ jurisdiction_id: Type.Optional(Type.String()), extensions: Type.Optional(Type.String()) }),
            response: { 200: Type.Array(RequestSchema), ...ERRORS },
          },
        },
        async (request, reply) => {
          const [id, format] = splitFile(request.params.file);
          return send(reply, format, 'service_requests', await intake.getOpen311(id));
        },
      );
    },
    { prefix: '/open311/v2' },
  );
}
