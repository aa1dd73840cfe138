import pino, { type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { redactPersonalData } from './redact';

export type { Logger };

/** Keeps the last 4 digits so support can still correlate calls without exposing the resident's number. */
export function redactPhone(value: unknown): string {
  const s = String(value ?? '');
  const digits = s.replace(/\D/g, '');
  if (digits.length < 5) return digits.length ? '***' : s;
  return `***${digits.slice(-4)}`;
}

// Any field whose name says it holds a phone number is masked wherever it appears in a log line.
const PHONE_KEYS = [
  'callerNumber', 'phone', 'number', 'caller.number', 'connected.number', 'callerId', 'contactPhone',
  'residentPhone', 'from', 'to',
];
const REDACT_PATHS = [
  ...PHONE_KEYS,
  ...PHONE_KEYS.map((k) => `*.${k}`),
  ...PHONE_KEYS.map((k) => `*.*.${k}`),
  'req.headers.authorization',
  'authorization',
  'password',
  'secret',
  'token',
];

export type LogFormat = 'auto' | 'json' | 'pretty';

/** Pretty lines when a person reads them on a terminal; JSON for files, pipes and log collectors. */
export function usePretty(format: LogFormat, isTTY: boolean): boolean {
  return format === 'pretty' || (format === 'auto' && isTTY);
}

function prettyStream(destination: pino.DestinationStream | undefined, colorize: boolean): pino.DestinationStream {
  return pinoPretty({
    destination: destination ?? 1,
    sync: true, // a crash's last lines are not lost in a buffer
    colorize,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
  });
}

/**
 * The service's logger. Redaction happens before formatting, so pretty and JSON lines hide the same things.
 * format (default auto) decides for stdout; with an explicit destination only 'pretty' prettifies.
 */
export function createLogger(level: string, destination?: pino.DestinationStream, opts: { format?: LogFormat } = {}): Logger {
  const format = opts.format ?? 'auto';
  const isTTY = destination === undefined && Boolean(process.stdout.isTTY);
  const stream = usePretty(format, isTTY) ? prettyStream(destination, isTTY) : destination;
  return pino(
    {
      level,
      base: { service: 'hotline114' },
      redact: { paths: REDACT_PATHS, censor: (value: unknown, path: string[]) => (isSecret(path) ? '[secret]' : redactPhone(value)) },
      // Free text can carry personal data too: log messages and error texts (a PostgreSQL error's detail quotes
      // the row) go through the same redaction as public views.
      hooks: {
        logMethod(args, method) {
          for (let i = 0; i < args.length; i++) if (typeof args[i] === 'string') args[i] = redactPersonalData(args[i] as string);
          method.apply(this, args);
        },
      },
      serializers: { err: redactedError },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
}

function isSecret(path: string[]): boolean {
  const last = path[path.length - 1] ?? '';
  return last === 'authorization' || last === 'password' || last === 'secret' || last === 'token';
}

function redactedError(err: Error): Record<string, unknown> {
  const out = pino.stdSerializers.err(err) as unknown as Record<string, unknown>;
  for (const k of ['message', 'stack', 'detail', 'where']) {
    if (typeof out[k] === 'string') out[k] = redactPersonalData(out[k] as string);
  }
  return out;
}
