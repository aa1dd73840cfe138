import { Writable } from 'node:stream';
import type { EventEmitter } from 'node:events';
import { createLogger, type Logger } from '../../src/infra/logger';

export interface CapturedLogger {
  logger: Logger;
  lines: Array<{ level: number; msg: string; [k: string]: unknown }>;
}

/** A pino logger writing parsed JSON lines into an array, so tests can assert what operators would see. */
export function captureLogger(level = 'debug'): CapturedLogger {
  const lines: CapturedLogger['lines'] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { logger: createLogger(level, stream), lines };
}

/**
 * Resolves with the arguments of the next `event` on `emitter` matching `pred`; rejects after timeoutMs.
 * Register it BEFORE triggering the action that causes the event.
 */
// Typed emitters (EventEmitter<SwitchEvents>, …) are not assignable to one common emitter type.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyEmitter = EventEmitter<any>;

export function nextEvent<A extends unknown[] = unknown[]>(
  emitter: AnyEmitter,
  event: string,
  pred: (...args: A) => boolean = () => true,
  timeoutMs = 5000,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const on = (...args: unknown[]): void => {
      if (!pred(...(args as A))) return;
      clearTimeout(timer);
      emitter.off(event, on);
      resolve(args as A);
    };
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`no '${event}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    emitter.on(event, on);
  });
}

/** Collects every emission of `event` into an array (for counting and asserting order). */
export function record<A extends unknown[]>(emitter: AnyEmitter, event: string): A[] {
  const seen: A[] = [];
  emitter.on(event, (...args: unknown[]) => seen.push(args as A));
  return seen;
}
