// Issue 11 item 3: lookup codes that cannot be guessed, and wrong guesses limited per tracking number and per address.
import { DEFAULT_LOOKUP_LIMITS } from '../../src/config';
import { addressKey, createLookupGuard } from '../../src/intake/lookup';
import { LOOKUP_ALPHABET, formatLookupCode, generateLookupCode, hashLookupCode, issueLookupCode, lookupCodeMatches, normalizeLookupCode } from '../../src/cases/lookup-code';
import { build, type TestApp } from '../helpers/build';

let t: TestApp;
beforeAll(async () => {
  t = await build();
  await t.app.db.query(`insert into categories (code, name) values ('help-manhole', '井盖')`);
});
afterAll(async () => {
  await t?.close();
});

let submitter = 0;
function submit(payload: Record<string, unknown>) {
  submitter += 1; // the submission rate limit is per address: each submission from its own
  return t.inject({ method: 'POST', url: '/api/public/requests', payload, remoteAddress: `10.8.0.${submitter}` });
}

function look(trackingNo: string, query: Record<string, string>, ip: string) {
  return t.inject({ method: 'GET', url: `/api/public/requests/${encodeURIComponent(trackingNo)}`, query, remoteAddress: ip });
}

describe('lookup codes', () => {
  test('10 characters of a 31-letter alphabet, never digits only, random', () => {
    const codes = Array.from({ length: 2000 }, () => generateLookupCode());
    for (const c of codes) {
      expect(c).toHaveLength(10);
      expect([...c].every((ch) => LOOKUP_ALPHABET.includes(ch))).toBe(true);
      expect(c).toMatch(/[A-Z]/);
    }
    expect(new Set(codes).size).toBe(codes.length);
    expect(LOOKUP_ALPHABET).not.toMatch(/[01OIL]/);
    // every position uses the whole alphabet (a stuck or biased generator would not)
    for (let i = 0; i < 10; i++) expect(new Set(codes.map((c) => c[i])).size).toBe(LOOKUP_ALPHABET.length);
  });

  test('typing is forgiving, matching is exact', () => {
    const code = 'ABCD2345XY';
    expect(formatLookupCode(code)).toBe('ABCD-2345-XY');
    expect(normalizeLookupCode(' abcd-2345 xy')).toBe(code);
    const stored = hashLookupCode('114-20261204-000001', code);
    expect(lookupCodeMatches('114-20261204-000001', 'abcd 2345-xy', stored)).toBe(true);
    expect(lookupCodeMatches('114-20261204-000001', 'ABCD2345XZ', stored)).toBe(false);
    expect(lookupCodeMatches('114-20261204-000002', code, stored)).toBe(false); // bound to its tracking number
    expect(lookupCodeMatches('114-20261204-000001', code, null)).toBe(false);
  });

  test('only a hash is stored', async () => {
    const res = await submit({ category: 'help-manhole', description: '路口井盖缺失', location: '经十路与历山路路口' });
    const { trackingNo, lookupCode } = res.json() as { trackingNo: string; lookupCode: string };
    const { rows } = await t.app.db.query<{ row: string }>(`select row_to_json(c)::text as row from cases c where tracking_no = $1`, [trackingNo]);
    expect(rows[0]!.row).not.toContain(normalizeLookupCode(lookupCode));
    const { rows: ir } = await t.app.db.query<{ row: string }>(`select row_to_json(i)::text as row from intake_requests i join cases c on c.id = i.case_id where c.tracking_no = $1`, [trackingNo]);
    expect(ir[0]!.row).not.toContain(normalizeLookupCode(lookupCode));
  });

  test('issueLookupCode gives any case (e.g. a phone case) a working code', async () => {
    const res = await submit({ category: 'help-manhole', description: '井盖破损', location: '某路口', phone: '13900001111' });
    const { trackingNo } = res.json() as { trackingNo: string };
    const { rows } = await t.app.db.query<{ id: number }>(`select id from cases where tracking_no = $1`, [trackingNo]);
    const code = await issueLookupCode(t.app.db, rows[0]!.id);
    expect((await look(trackingNo, { code: formatLookupCode(code) }, '10.9.1.1')).statusCode).toBe(200);
    expect((await look(trackingNo, { phoneLast4: '1111' }, '10.9.1.1')).statusCode).toBe(200); // the phone still works
  });

  test('IPv6 clients are counted by their /64', () => {
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe(addressKey('2001:0db8:0001:0002:ffff::1'));
    expect(addressKey('2001:db8:1:2::1')).not.toBe(addressKey('2001:db8:1:3::1'));
    expect(addressKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(addressKey('10.1.2.3')).toBe('10.1.2.3');
  });
});

describe('wrong guesses are limited', () => {
  test('200 wrong codes for one tracking number, in parallel from 200 addresses: at most the limit are tried, then locked in Chinese; the right code is refused too', async () => {
    const res = await submit({ category: 'help-manhole', description: '井盖缺失', location: '某路口' });
    const { trackingNo, lookupCode } = res.json() as { trackingNo: string; lookupCode: string };
    const wrong = Array.from({ length: 200 }, () => generateLookupCode()).filter((c) => c !== normalizeLookupCode(lookupCode));
    const answers = await Promise.all(wrong.map((code, i) => look(trackingNo, { code }, `10.20.${Math.floor(i / 250)}.${(i % 250) + 1}`)));
    const statuses = answers.map((a) => a.statusCode);
    expect(statuses.filter((s) => s === 404).length).toBeLessThanOrEqual(DEFAULT_LOOKUP_LIMITS.perTrackingNo);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(wrong.length - DEFAULT_LOOKUP_LIMITS.perTrackingNo);
    expect(statuses.every((s) => s === 404 || s === 429)).toBe(true);
    const locked = answers.find((a) => a.statusCode === 429)!.json() as { error: string; message: string };
    expect(locked.error).toBe('lookup_locked');
    expect(locked.message).toMatch(/错误次数过多.*分钟后再试/);
    // even the right code (from a fresh address) is refused while locked
    expect((await look(trackingNo, { code: lookupCode }, '10.30.0.1')).statusCode).toBe(429);
    // another tracking number is not affected
    const other = (await submit({ category: 'help-manhole', description: '井盖缺失', location: '某路口' })).json() as { trackingNo: string; lookupCode: string };
    expect((await look(other.trackingNo, { code: other.lookupCode }, '10.30.0.1')).statusCode).toBe(200);
  }, 60000);

  test('the phone-last-4 path is limited the same way', async () => {
    const res = await submit({ category: 'help-manhole', description: '井盖缺失', location: '某路口', phone: '13812345678' });
    const { trackingNo } = res.json() as { trackingNo: string };
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await look(trackingNo, { phoneLast4: String(1000 + i) }, `10.40.0.${i + 1}`)).statusCode);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(404));
    expect(statuses.slice(10)).toEqual([429, 429]);
    expect((await look(trackingNo, { phoneLast4: '5678' }, '10.40.1.1')).statusCode).toBe(429);
  });

  test('per address: spraying tracking numbers from one address locks that address only', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < DEFAULT_LOOKUP_LIMITS.perAddress + 2; i++) {
      statuses.push((await look(`114-20260101-${String(i).padStart(6, '0')}`, { code: 'ABCDEFGH23' }, '10.50.0.1')).statusCode);
    }
    expect(statuses.slice(0, DEFAULT_LOOKUP_LIMITS.perAddress).every((s) => s === 404)).toBe(true);
    const last = await look('114-20260101-999999', { code: 'ABCDEFGH23' }, '10.50.0.1');
    expect(last.statusCode).toBe(429);
    expect((last.json() as { message: string }).message).toMatch(/查询验证错误次数过多/);
    const res = await submit({ category: 'help-manhole', description: '井盖缺失', location: '某路口' });
    const ok = res.json() as { trackingNo: string; lookupCode: string };
    expect((await look(ok.trackingNo, { code: ok.lookupCode }, '10.50.0.2')).statusCode).toBe(200);
  });

  test('the lock lifts when the window has passed; right answers do not count', async () => {
    const guard = createLookupGuard(t.app.db, { perTrackingNo: 2, perAddress: 100, windowMs: 60_000 });
    const key = { trackingNo: '114-LOCKTEST-000001', ip: '10.60.0.1' };
    expect(await guard.verify(key, async () => 'ok')).toBe('ok');
    expect(await guard.verify(key, async () => 'ok')).toBe('ok');
    expect(await guard.verify(key, async () => null)).toBeNull();
    expect(await guard.verify(key, async () => null)).toBeNull();
    await expect(guard.verify(key, async () => 'ok')).rejects.toMatchObject({ statusCode: 429, code: 'lookup_locked' });
    // age the failures past the window (as the clock would)
    await t.app.db.query(`update lookup_failures set at = at - interval '61 seconds' where key = $1`, [key.trackingNo]);
    expect(await guard.verify(key, async () => 'ok')).toBe('ok');
  });
});
