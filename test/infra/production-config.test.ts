// Issue 11 item 5: production mode refuses the documented default secrets and a missing metrics token.
import { ConfigError, loadConfig } from '../../src/config';

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
