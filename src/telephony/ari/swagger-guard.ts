// Contains two side effects of swagger-client 2.0.26, which ari-client 2.2.0 uses to load Asterisk's api-docs:
//
// 1. SwaggerApi.prototype.fail() first calls the failure callback (ari-client rejects connect() cleanly there) and
//    then `throw message` — from inside shred's HTTP response handler, i.e. an uncaught exception that kills the
//    process (wrong password → 401, missing ARI → 404, or an api-doc failing to load). The connection manager's
//    pre-flight makes this rare; this guard removes the residual race (credentials or Asterisk changing between
//    the pre-flight and ari-client's own requests): after the failure callback has run, the throw carries no
//    information, so we swallow exactly that thrown value and nothing else.
// 2. swagger's global `log()` console.logs "This API is using a deprecated version of Swagger!" on every connect
//    and keeps every call's arguments in `log.history` forever (a slow leak across reconnects). We replace the
//    global with a function that writes to the current pino logger at debug and keeps nothing.
//
// Both are installed on the exact swagger-client instance ari-client resolves (it is not our direct dependency).
import path from 'node:path';
import type { Logger } from 'pino';

const GUARDED = Symbol.for('hotline114.swaggerFailGuard');

let debugSink: Logger | null = null;

interface SwaggerModule {
  SwaggerApi: { prototype: { fail(message: unknown): unknown; [GUARDED]?: true } };
}

function loadSwagger(): SwaggerModule {
  // Plain require of the resolved path (not createRequire) so that Jest's module registry hands out the same
  // instance ari-client got.
  const ariDir = path.dirname(require.resolve('ari-client'));
  return require(require.resolve('swagger-client', { paths: [ariDir] })) as SwaggerModule;
}

export function installSwaggerGuard(logger: Logger): void {
  debugSink = logger;
  const swagger = loadSwagger();
  const proto = swagger.SwaggerApi.prototype;
  if (!proto[GUARDED]) {
    const originalFail = proto.fail;
    proto.fail = function guardedFail(this: unknown, message: unknown): void {
      try {
        originalFail.call(this, message);
      } catch (thrown) {
        if (thrown !== message) throw thrown;
        debugSink?.debug({ swaggerFailure: String(message) }, 'ari-client: swagger failure contained (connect rejected instead of crashing)');
      }
    };
    proto[GUARDED] = true;
  }
  // swagger.js assigns `log` as an implicit global when it is first evaluated; overwrite it after that.
  (globalThis as Record<string, unknown>).log = swaggerLog;
}

function swaggerLog(...args: unknown[]): void {
  debugSink?.debug({ swagger: args.map((a) => (typeof a === 'string' ? a : String(a))) }, 'swagger-client log');
}
