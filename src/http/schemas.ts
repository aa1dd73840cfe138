// Schemas and helpers shared by routes.
import { Type, type Static, type TSchema } from 'typebox';
import { BadRequestError } from '../infra/errors';
import { normalizePhone } from '../infra/phone';
import { fieldLabel } from './field-labels';

/**
 * T or null. A plain type becomes `type: [T, 'null']` rather than anyOf: with Fastify's type coercion an anyOf
 * would turn a null into "" (or 0) in its first branch instead of keeping it null.
 */
export function Nullable<T extends TSchema>(t: T) {
  const type = (t as { type?: unknown }).type;
  if (typeof type === 'string' && !('anyOf' in t) && !('const' in t)) {
    return Type.Unsafe<Static<T> | null>({ ...t, type: [type, 'null'] });
  }
  return Type.Union([t, Type.Null()]);
}

export const ErrorSchema = Type.Object({
  error: Type.String({ description: '稳定的错误代码' }),
  message: Type.String({ description: '中文错误说明' }),
  details: Type.Optional(Type.Unknown()),
});

/** Error responses every protected route may give (documentation only). */
export const AUTH_ERRORS = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema } as const;

export const IntId = Type.Integer({ minimum: 1, maximum: 2147483647 });
export const BigIntId = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
export const IdParams = Type.Object({ id: IntId });

export const PageLimit = Type.Integer({ minimum: 1, maximum: 200, default: 20, description: '每页条数（1–200）' });
export const Cursor = Type.String({ minLength: 1, maxLength: 200, description: '上一页返回的 nextCursor' });

/** Keyset cursor over (started_at, id) of calls (uuid ids): the timestamp as PostgreSQL printed it (full microseconds) and the id. */
export interface KeysetPosition {
  ts: string;
  id: string;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function encodeCursor(p: KeysetPosition): string {
  return Buffer.from(JSON.stringify([p.ts, p.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): KeysetPosition | null {
  if (cursor === undefined) return null;
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === 'string' &&
      typeof v[1] === 'string' &&
      UUID_RE.test(v[1]) &&
      !Number.isNaN(Date.parse(v[0].replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')))
    ) {
      return { ts: v[0], id: v[1] };
    }
  } catch {
    // fall through
  }
  throw new BadRequestError('分页游标无效，请从第一页重新查询', 'invalid_cursor');
}

export { normalizePhone } from '../infra/phone';

export const PHONE_RE = /^\+?[0-9]{3,20}$/;

/** normalizePhone + validation; throws a readable 400. */
export function requirePhone(raw: string, field = 'number'): string {
  const n = normalizePhone(raw);
  if (!PHONE_RE.test(n)) throw new BadRequestError(`${fieldLabel(field)}不是有效的电话号码`, 'invalid_phone');
  return n;
}
