// Issue 11 item 5: production mode refuses the documented default secrets and a missing metrics token.
// Settings of supervision, SMS, status lookups and public locations are read with the rest of the configuration:
// defaults when unset, one ConfigError listing every bad variable.
import { ConfigError, DEFAULT_LOOKUP_LIMITS, DEFAULT_PUBLIC_LOCATION, loadConfig } from '../../src/config';

const GOOD = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://hotline114:Xq7-long-db-pass@db.internal:5432/hotline114',
  ARI_PASSWORD: 'ari-Vt9w2LpQ7zR4',
  AMI_SECRET: 'ami-Kd3s8NwQ1xY6',
  METRICS_TOKEN: 'metrics-0123456789abcdef',
  SESSION_SECRET: 'session-secret-0123456789abcdef-0123456789', // the sign-in issue's own production check
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe('production secrets', () => {
  test('own secrets and a metrics token: starts', () => {
    expect(problemsOf(GOOD)).toEqual([]);
    expect(loadConfig(GOOD).env).toBe('production');
  });

  test('the documented defaults (nothing set): refused, one line per secret', () => {
    const problems = problemsOf({ NODE_ENV: 'production', SESSION_SECRET: GOOD.SESSION_SECRET });
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/ARI_PASSWORD/);
    expect(problems.join('\n')).toMatch(/AMI_SECRET/);
    expect(problems.join('\n')).toMatch(/DATABASE_URL/);
    expect(problems.join('\n')).toMatch(/METRICS_TOKEN/);
  });

  test.each([
    ['ARI_PASSWORD', { ARI_PASSWORD: 'hotline114' }, /ARI_PASSWORD/],
    ['ARI_PASSWORD too short', { ARI_PASSWORD: 'short' }, /ARI_PASSWORD/],
    ['AMI_SECRET', { AMI_SECRET: 'hotline114' }, /AMI_SECRET/],
    ['database password of docker-compose.yml', { DATABASE_URL: 'postgres://hotline114:hotline114@postgres:5432/hotline114' }, /DATABASE_URL/],
    ['database password, percent-encoded', { DATABASE_URL: 'postgres://u:%68otline114@db:5432/x' }, /DATABASE_URL/],
    ['no metrics token', { METRICS_TOKEN: '' }, /METRICS_TOKEN/],
    ['a short metrics token', { METRICS_TOKEN: 'abc' }, /METRICS_TOKEN/],
  ])('refused: %s', (_what, change, pattern) => {
    const problems = problemsOf({ ...GOOD, ...change });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(pattern);
  });

  test('telephony switched off: its secrets are not needed', () => {
    expect(problemsOf({ ...GOOD, ARI_ENABLED: 'false', AMI_ENABLED: 'false', ARI_PASSWORD: '', AMI_SECRET: '' })).toEqual([]);
  });

  test('development and test keep the lab defaults', () => {
    expect(problemsOf({ NODE_ENV: 'development' })).toEqual([]);
    expect(problemsOf({ NODE_ENV: 'test' })).toEqual([]);
  });
});

describe('configuration read once', () => {
  test('defaults', () => {
    const c = loadConfig({});
    expect(c.supervision).toEqual({
      callbackRingTimeoutSec: 30,
      callbackRecord: true,
      metricsToken: null,
      reportTimezone: 'Asia/Shanghai',
      serviceLevelSec: 15,
      publishMs: 1000,
    });
    expect(c.sms).toBeNull();
    expect(c.intake).toEqual({ lookupLimits: DEFAULT_LOOKUP_LIMITS, publicLocation: DEFAULT_PUBLIC_LOCATION });
  });

  test('values set', () => {
    const c = loadConfig({
      CALLBACK_RECORD: 'off',
      METRICS_TOKEN: 'scrape',
      REPORT_TIMEZONE: 'Asia/Urumqi',
      SUPERVISION_PUBLISH_MS: '100',
      SMS_WEBHOOK_URL: ' https://sms.example/send ',
      SMS_WEBHOOK_TOKEN: 'tok',
      LOOKUP_LOCK_WINDOW_SEC: '120',
      PUBLIC_LOCATION: 'grid',
      PUBLIC_GRID_METERS: '1000',
    });
    expect(c.supervision).toMatchObject({ callbackRecord: false, metricsToken: 'scrape', reportTimezone: 'Asia/Urumqi', publishMs: 100 });
    expect(c.sms).toEqual({ webhookUrl: 'https://sms.example/send', webhookToken: 'tok' });
    expect(c.intake.lookupLimits.windowMs).toBe(120_000);
    expect(c.intake.publicLocation).toEqual({ mode: 'grid', gridMeters: 1000 });
  });

  test('bad values: one error naming each', () => {
    expect(
      problemsOf({
        OUTBOUND_DIAL_TEMPLATE: 'PJSIP/trunk',
        CALLBACK_RING_TIMEOUT_SEC: '2',
        CALLBACK_RECORD: 'maybe',
        REPORT_TIMEZONE: 'Mars/Olympus',
        SMS_WEBHOOK_URL: 'ftp://sms.example',
        LOOKUP_MAX_FAILURES_PER_ADDRESS: '0',
        PUBLIC_LOCATION: 'exact',
        PUBLIC_GRID_METERS: '50',
      }).sort(),
    ).toEqual(
      [
        'OUTBOUND_DIAL_TEMPLATE must contain {number} (got "PJSIP/trunk")',
        'CALLBACK_RING_TIMEOUT_SEC must be an integer between 5 and 300 (got "2")',
        'CALLBACK_RECORD must be true or false (got "maybe")',
        'REPORT_TIMEZONE must be an IANA time zone such as Asia/Shanghai (got "Mars/Olympus")',
        'SMS_WEBHOOK_URL must be an http(s) URL (got "ftp://sms.example")',
        'LOOKUP_MAX_FAILURES_PER_ADDRESS must be an integer between 1 and 100000 (got "0")',
        'PUBLIC_LOCATION must be street or grid (got "exact")',
        'PUBLIC_GRID_METERS must be an integer between 100 and 10000 (got "50")',
      ].sort(),
    );
  });
});

describe('database pool', () => {
  test('idle connections are kept 10 minutes unless DB_POOL_IDLE_SEC says otherwise', () => {
    expect(loadConfig(GOOD).resilience.dbPoolIdleMs).toBe(600_000);
    expect(loadConfig({ ...GOOD, DB_POOL_IDLE_SEC: '30' }).resilience.dbPoolIdleMs).toBe(30_000);
    expect(problemsOf({ ...GOOD, DB_POOL_IDLE_SEC: '0' }).join('\n')).toMatch(/DB_POOL_IDLE_SEC/);
  });
});
