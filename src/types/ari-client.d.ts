// Minimal typing of ari-client 2.2.0 (no @types package is installed): only what src/telephony/ari uses.
// The generated REST resources (client.channels.*, …) are typed loosely on purpose: hotline114 issues its
// REST calls through its own keep-alive HTTP agent (see src/telephony/ari/rest.ts).
declare module 'ari-client' {
  import type { EventEmitter } from 'node:events';

  /** The WebSocket of ari-client's bundled ws@6 (its own copy, not the project's ws@8). */
  interface AriWs extends EventEmitter {
    readonly readyState: number;
    ping(data?: unknown, mask?: boolean, cb?: (err?: Error) => void): void;
    close(code?: number, data?: string): void;
    terminate(): void;
  }

  interface Client extends EventEmitter {
    /** Opens the events WebSocket; resolves on the first open, rejects when ari-client gives up (WebSocketMaxRetries). */
    start(apps: string | string[], subscribeAll?: boolean | null): Promise<void>;
    stop(): void;
    ping(): void;
    /** Private in ari-client; read by the connection manager to contain ari-client's known failures. */
    _ws?: AriWs;
    _wsClosed?: boolean;
    [resource: string]: unknown;
  }

  export function connect(url: string, user: string, pass: string): Promise<Client>;
  export type { Client, AriWs };
}

declare module 'swagger-client' {
  interface SwaggerApiPrototype {
    fail(this: { failure(message: unknown): void }, message: unknown): void;
    [key: string]: unknown;
  }
  export const SwaggerApi: { prototype: SwaggerApiPrototype };
}
