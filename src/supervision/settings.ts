// Settings of supervision, reports, metrics and callbacks (issue 5), read from the environment like config.ts
// (and failing the same way: one ConfigError listing every bad variable).
//   OUTBOUND_DIAL_TEMPLATE  how a resident's number is dialled for a callback (default PJSIP/{number}@trunk)
//   CALLBACK_RING_TIMEOUT_SEC  ring time of each callback leg (default 30)
//   CALLBACK_RECORD         record connected callbacks (default true)
//   METRICS_TOKEN           if set, GET /metrics needs "Authorization: Bearer <token>"; unset = open (scrapers on a
//                           private network)
//   REPORT_TIMEZONE         IANA zone the KPI periods (hour/day/month) are cut in (default Asia/Shanghai)
//   KPI_SERVICE_LEVEL_SEC   default service-level threshold: answered within N seconds (default 15)
//   SUPERVISION_PUBLISH_MS  how often each process publishes its live calls for the board (default 1000)
import { ConfigError } from '../config';

export interface SupervisionSettings {
  readonly outboundDialTemplate: string;
  readonly callbackRingTimeoutSec: number;
  readonly callbackRecord: boolean;
  readonly metricsToken: string | null;
  readonly reportTimezone: string;
  readonly serviceLevelSec: number;
  readonly publishMs: number;
}

type Env = Record<string, string | undefined>;

export function loadSupervisionSettings(env: Env = process.env): SupervisionSettings {
  const problems: string[] = [];
  const str = (n: string, d: string) => (env[n] === undefined || env[n] === '' ? d : env[n]!);
  const int = (n: string, d: number, min: number, max: number) => {
    const raw = env[n];
    if (raw === undefined || raw === '') return d;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min || v > max) {
      problems.push(`${n} must be an integer between ${min} and ${max} (got "${raw}")`);
      return d;
    }
    return v;
  };
  const template = str('OUTBOUND_DIAL_TEMPLATE', 'PJSIP/{number}@trunk');
  if (!template.includes('{number}')) problems.push(`OUTBOUND_DIAL_TEMPLATE must contain {number} (got "${template}")`);
  const tz = str('REPORT_TIMEZONE', 'Asia/Shanghai');
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
  } catch {
    problems.push(`REPORT_TIMEZONE must be an IANA time zone such as Asia/Shanghai (got "${tz}")`);
  }
  const rec = str('CALLBACK_RECORD', 'true');
  if (!/^(1|true|yes|on|0|false|no|off)$/i.test(rec)) problems.push(`CALLBACK_RECORD must be true or false (got "${rec}")`);
  const settings: SupervisionSettings = {
    outboundDialTemplate: template,
    callbackRingTimeoutSec: int('CALLBACK_RING_TIMEOUT_SEC', 30, 5, 300),
    callbackRecord: /^(1|true|yes|on)$/i.test(rec),
    metricsToken: env.METRICS_TOKEN ? env.METRICS_TOKEN : null,
    reportTimezone: tz,
    serviceLevelSec: int('KPI_SERVICE_LEVEL_SEC', 15, 1, 600),
    publishMs: int('SUPERVISION_PUBLISH_MS', 1000, 100, 60000),
  };
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze(settings);
}
