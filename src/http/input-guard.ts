// Bad bytes never reach a handler or PostgreSQL, and the framework's own refusals speak Chinese without echoing
// what was sent:
// - URL: malformed percent-encoding, invalid UTF-8 or NUL anywhere in path or query → 400 bad_encoding (onRequest,
//   before any route guard, so it is the same for everyone);
// - JSON bodies are decoded strictly (invalid UTF-8 → 400), and any string or key of a parsed body holding NUL or
//   a lone surrogate (\ud800) → 400 invalid_characters;
// - router refusals (bad URL component, a parameter over maxParamLength → 414) and Node's client errors (header or
//   URL over the size limit → 431, malformed request → 400, timeout → 408) answer in Chinese.
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyTypeBox } from './types';
import { BadRequestError } from '../infra/errors';

// eslint-disable-next-line no-control-regex -- finding NUL is the point
const BAD_CHARS = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export class BadEncodingError extends BadRequestError {
  constructor() {
    super('请求地址包含无效的编码（百分号编码不完整、不是合法的 UTF-8 或含空字符）', 'bad_encoding');
  }
}

export class InvalidCharactersError extends BadRequestError {
  constructor() {
    super('请求内容包含无效字符（空字符、不成对的代理字符或不合法的 UTF-8）', 'invalid_characters');
  }
}

/** True when the URL's percent-encoding is complete, decodes to valid UTF-8 and holds no NUL or control bytes. */
export function isCleanUrl(url: string): boolean {
  // eslint-disable-next-line no-control-regex -- raw control bytes in a URL are the point
  if (/[\u0000-\u001f\u007f]/.test(url)) return false;
  if (!url.includes('%')) return true;
  try {
    // '+' is a space in queries but not an escape: it cannot make decoding fail, so it needs no care here.
    return !BAD_CHARS.test(decodeURIComponent(url));
  } catch {
    return false;
  }
}

/** Does any string (or key) in a parsed body hold NUL or a lone surrogate? */
export function hasBadChars(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return BAD_CHARS.test(value);
  if (depth > 32 || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((v) => hasBadChars(v, depth + 1));
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (BAD_CHARS.test(k) || hasBadChars(v, depth + 1)) return true;
  }
  return false;
}

/** Bytes → text, refusing invalid UTF-8 (Node would silently put U+FFFD in its place). */
export function decodeUtf8Strict(body: Buffer): string {
  try {
    return strictUtf8.decode(body);
  } catch {
    throw new InvalidCharactersError();
  }
}

/** Registers the URL check, the strict JSON parser and the body check; call before routes are added. */
export function registerInputGuard(fastify: FastifyTypeBox): void {
  fastify.addHook('onRequest', async (request) => {
    if (!isCleanUrl(request.raw.url ?? '')) throw new BadEncodingError();
  });
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = decodeUtf8Strict(body as Buffer);
    } catch (err) {
      done(err as Error, undefined);
      return;
    }
    parseJson(request, text, done);
  });
  fastify.addHook('preValidation', async (request) => {
    if (hasBadChars(request.body) || hasBadChars(request.query) || hasBadChars(request.params)) throw new InvalidCharactersError();
  });
}

function frameworkError(err: FastifyError): { status: number; code: string; message: string } {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') return { status: 414, code: 'uri_too_long', message: '请求地址中的参数过长' };
  if (err.code === 'FST_ERR_BAD_URL') return { status: 400, code: 'bad_encoding', message: new BadEncodingError().message };
  return { status: 400, code: 'bad_request', message: '请求无效' };
}

/** Fastify's frameworkErrors option: router refusals before any route ran (Open311 paths get its error format). */
export function onFrameworkError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const { status, code, message } = frameworkError(err);
  if ((request.raw.url ?? '').startsWith('/open311/')) {
    void reply.code(status).send([{ code: status, description: message }]);
    return;
  }
  void reply.code(status).send({ error: code, message });
}

/** Node's clientError (before Fastify sees a request): answered in Chinese, then the socket is closed. */
export function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'headers_too_large', '请求头或请求地址过长']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'request_timeout', '请求超时']
        : [400, 'Bad Request', 'bad_request', '请求格式不正确'];
  const body = JSON.stringify({ error: code, message });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
