// The one error handler: every error leaves as { error: <stable code>, message: <Chinese text>, details? }.
// Stack traces never leave the process; unknown errors are logged with the error and answered 500.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../infra/errors';
import { fieldLabel } from './field-labels';
import { asUnavailable } from '../infra/unavailable';

export interface ErrorBody {
  error: string;
  message: string;
  details?: unknown;
}

export interface AjvLikeError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

const TYPE_NAMES: Record<string, string> = {
  string: '字符串',
  integer: '整数',
  number: '数字',
  boolean: '布尔值(true/false)',
  object: '对象',
  array: '数组',
  null: '空值(null)',
};

const FORMAT_NAMES: Record<string, string> = {
  uuid: 'UUID',
  'date-time': 'ISO 8601 日期时间，例如 2025-01-31T08:00:00Z',
  date: '日期，例如 2025-01-31',
  email: '电子邮箱',
  uri: 'URL',
};

const PART_NAMES: Record<string, string> = {
  body: '请求体',
  querystring: '查询参数',
  params: '路径参数',
  headers: '请求头',
};

function fieldName(context: string | undefined, e: AjvLikeError): string {
  let path = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (e.keyword === 'required' && typeof e.params.missingProperty === 'string') {
    path = path ? `${path}.${e.params.missingProperty}` : e.params.missingProperty;
  }
  if (e.keyword === 'additionalProperties' && typeof e.params.additionalProperty === 'string') {
    path = path ? `${path}.${e.params.additionalProperty}` : e.params.additionalProperty;
  }
  return path || PART_NAMES[context ?? ''] || '请求';
}

/** One readable Chinese sentence for one schema violation, naming the field in Chinese (「联系电话」). */
export function describeValidationError(context: string | undefined, e: AjvLikeError): string {
  const path = fieldName(context, e);
  const whole = Object.values(PART_NAMES).includes(path) || path === '请求';
  const f = whole ? path : fieldLabel(path);
  const p = e.params;
  switch (e.keyword) {
    case 'required':
      return `缺少必填项${f}`;
    case 'type': {
      const t = String(p.type ?? '').split(',').map((x) => TYPE_NAMES[x] ?? x).join('或');
      return `${f}类型错误，应为${t}`;
    }
    case 'minLength':
      return Number(p.limit) <= 1 ? `${f}不能为空` : `${f}长度不能少于 ${String(p.limit)} 个字符`;
    case 'maxLength':
      return `${f}长度不能超过 ${String(p.limit)} 个字符`;
    case 'minimum':
    case 'exclusiveMinimum':
      return `${f}不能小于${e.keyword === 'exclusiveMinimum' ? '或等于' : ''} ${String(p.limit)}`;
    case 'maximum':
    case 'exclusiveMaximum':
      return `${f}不能大于${e.keyword === 'exclusiveMaximum' ? '或等于' : ''} ${String(p.limit)}`;
    case 'minItems':
      return `${f}至少需要 ${String(p.limit)} 项`;
    case 'maxItems':
      return `${f}最多允许 ${String(p.limit)} 项`;
    case 'uniqueItems':
      return `${f}不能包含重复项`;
    case 'pattern':
      return `${f}格式不正确`;
    case 'format': {
      const name = FORMAT_NAMES[String(p.format)] ?? String(p.format);
      return `${f}格式不正确，应为${name}`;
    }
    case 'enum':
    case 'const': {
      const allowed = Array.isArray(p.allowedValues) ? p.allowedValues : p.allowedValue !== undefined ? [p.allowedValue] : [];
      return allowed.length ? `${f}取值无效，可选值：${allowed.map(String).join('、')}` : `${f}取值无效`;
    }
    case 'additionalProperties':
      return `不支持的字段 ${path}`;
    case 'minProperties':
      return `${whole ? path : f}至少需要包含 ${String(p.limit)} 项`;
    case 'anyOf':
    case 'oneOf':
      return `${f}取值无效`;
    default:
      return `${f}不符合要求`;
  }
}

/**
 * One sentence per problem: the branch errors of a union (anyOf/oneOf) are folded into a single sentence for that
 * field listing every allowed value, instead of one sentence per branch.
 */
export function validationProblems(context: string | undefined, errors: AjvLikeError[]): { error: AjvLikeError; message: string }[] {
  const unions = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  const under = (e: AjvLikeError, u: AjvLikeError) => e.instancePath.startsWith(`${u.instancePath}/`);
  // Branch errors sit at or below their union's path; of nested unions at one path the outer one comes last.
  const inUnion = (e: AjvLikeError) =>
    unions.includes(e)
      ? unions.some((u) => u !== e && (under(e, u) || (u.instancePath === e.instancePath && errors.indexOf(u) > errors.indexOf(e))))
      : unions.some((u) => e.instancePath === u.instancePath || under(e, u));
  const out: { error: AjvLikeError; message: string }[] = [];
  for (const e of errors) {
    if (inUnion(e)) continue;
    if (unions.includes(e)) {
      const allowed = errors
        .filter((b) => b.instancePath === e.instancePath && (b.keyword === 'const' || b.keyword === 'enum'))
        .flatMap((b) => (Array.isArray(b.params.allowedValues) ? b.params.allowedValues : [b.params.allowedValue]));
      const folded = allowed.length ? { ...e, keyword: 'enum', params: { allowedValues: [...new Set(allowed.map(String))] } } : e;
      out.push({ error: e, message: describeValidationError(context, folded) });
      continue;
    }
    out.push({ error: e, message: describeValidationError(context, e) });
  }
  return out;
}

// Fastify's own client errors (bad JSON, wrong content type, body too large …) in Chinese.
const FASTIFY_CLIENT_ERRORS: Record<string, [string, string]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['unsupported_media_type', '不支持的内容类型，请使用 application/json'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['bad_request', '请求体不能为空（Content-Type 为 application/json 时）'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['bad_request', '请求体不是合法的 JSON'],
  FST_ERR_CTP_BODY_TOO_LARGE: ['payload_too_large', '请求体过大'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['bad_request', '请求长度(Content-Length)无效'],
  FST_CSRF_MISSING_SECRET: ['csrf_invalid', '安全校验失败，请刷新页面后重试'],
  FST_CSRF_INVALID_TOKEN: ['csrf_invalid', '安全校验失败，请刷新页面后重试'],
};

/** PostgreSQL errors a malformed request can still provoke past the schemas: answered 4xx, never 500. */
function pgClientError(err: unknown): { status: number; body: ErrorBody } | null {
  const e = err as { code?: unknown; severity?: unknown };
  if (typeof e?.code !== 'string' || typeof e.severity !== 'string') return null;
  if (e.code === '23505') return { status: 409, body: { error: 'conflict', message: '数据已存在，不能重复创建' } };
  if (e.code === '23503') return { status: 400, body: { error: 'bad_reference', message: '引用的数据不存在' } };
  if (e.code.startsWith('22')) return { status: 400, body: { error: 'bad_request', message: '请求参数取值无效' } };
  return null;
}

export function errorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply) {
  // A dependency that is down or too slow (timeouts, lock waits, refused connections): 503 the client may retry
  // (Retry-After is added to every 503 by http/overload.ts).
  const unavailable = asUnavailable(err);
  if (unavailable) request.log.warn({ err }, 'dependency unavailable');
  err = unavailable ?? err;
  const fe = err as FastifyError & { validationContext?: string };
  if (Array.isArray(fe.validation)) {
    const problems = validationProblems(fe.validationContext, fe.validation as unknown as AjvLikeError[]);
    return reply.code(400).send({
      error: 'validation_failed',
      message: `请求参数错误：${[...new Set(problems.map((p) => p.message))].join('；')}`,
      details: problems.map(({ error: e, message }) => ({
        in: fe.validationContext,
        field: fieldName(fe.validationContext, e),
        rule: e.keyword,
        message,
      })),
    } satisfies ErrorBody);
  }
  if (err instanceof AppError) {
    if (err.statusCode >= 500) request.log.warn({ code: err.code }, err.message);
    const body: ErrorBody = { error: err.code, message: err.message };
    if (err.details !== undefined) body.details = err.details;
    return reply.code(err.statusCode).send(body);
  }
  const pg = pgClientError(err);
  if (pg) {
    request.log.info({ pgCode: (err as { code?: string }).code }, 'request rejected by database constraint');
    return reply.code(pg.status).send(pg.body);
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    const known = fe.code ? FASTIFY_CLIENT_ERRORS[fe.code] : undefined;
    const [code, message] = known ?? [status === 404 ? 'not_found' : 'bad_request', status === 404 ? '资源不存在' : '请求无效'];
    return reply.code(status).send({ error: code, message } satisfies ErrorBody);
  }
  request.log.error({ err }, 'unhandled error');
  return reply.code(500).send({ error: 'internal', message: '服务器内部错误' } satisfies ErrorBody);
}

export function notFoundHandler(_request: FastifyRequest, reply: FastifyReply) {
  return reply.code(404).send({ error: 'not_found', message: '接口不存在' } satisfies ErrorBody);
}
