// Residents' status lookup: the limit on wrong guesses, for every channel. Every lookup (lookup code or phone last
// 4) goes through LookupGuard.verify; the codes themselves (查询码: generation, format, hash) are the case's, in
// src/cases/lookup-code.ts.
//
// - Wrong guesses are counted per tracking number and per client address (IPv6: its /64) over a sliding window;
//   at the limit every lookup for that tracking number (or from that address) is refused with 429, even with the
//   right code, until the window has passed (refused attempts count too, so guessing on keeps it locked). Unknown tracking numbers count like wrong codes, so a lookup never
//   tells whether a number exists.
import { isIPv6 } from 'node:net';
import { DEFAULT_LOOKUP_LIMITS, type LookupLimits } from '../config';
import type { Db } from '../infra/db';
import { AppError } from '../infra/errors';

export class LookupLockedError extends AppError {
  constructor(scope: 'tracking' | 'address', retryAfterSec: number) {
    const minutes = Math.max(1, Math.ceil(retryAfterSec / 60));
    super(
      429,
      'lookup_locked',
      scope === 'tracking'
        ? `该受理编号的查询验证错误次数过多，已暂时锁定，请 ${minutes} 分钟后再试，或拨打 114 热线查询`
        : `查询验证错误次数过多，请 ${minutes} 分钟后再试，或拨打 114 热线查询`,
      { retryAfterSec },
    );
  }
}

/** The counting key of a client address: IPv4 as is, IPv6 by its /64 (one subscriber usually holds a whole /64). */
export function addressKey(ip: string): string {
  const v4mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4mapped) return v4mapped[1]!;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export interface LookupKey {
  trackingNo: string;
  /** The client's IP address (request.ip). */
  ip: string;
}

export function createLookupGuard(db: Db, limits: LookupLimits = DEFAULT_LOOKUP_LIMITS) {
  const windowSec = Math.round(limits.windowMs / 1000);

  /** Seconds until fewer than `max` other failures remain in the window. */
  async function retryAfter(scope: 'tracking' | 'address', key: string, max: number, own: number[]): Promise<number> {
    const { rows } = await db.query<{ s: number }>(
      `select ceil(extract(epoch from at + make_interval(secs => $3) - now()))::int as s
         from lookup_failures
        where scope = $1 and key = $2 and at > now() - make_interval(secs => $3) and id <> all($5::bigint[])
        order by at desc offset $4 - 1 limit 1`,
      [scope, key, windowSec, max, own],
    );
    return Math.max(1, rows[0]?.s ?? 1);
  }

  async function forget(ids: number[]): Promise<void> {
    await db.query(`delete from lookup_failures where id = any($1::bigint[])`, [ids]);
  }

  return {
    /**
     * Runs `attempt` unless the tracking number or the address is locked (LookupLockedError). `attempt` returns the
     * result for a right secret, or null for a wrong one / an unknown tracking number: that counts as one failure
     * for both keys, and null is returned (the caller answers its own 404).
     */
    async verify<T>(key: LookupKey, attempt: () => Promise<T | null>): Promise<T | null> {
      const tracking = key.trackingNo.trim().toUpperCase();
      const address = addressKey(key.ip);
      // Counted first, compared after: of N parallel guesses the k-th committed row sees at least k rows, so no
      // more than the limit ever reach the comparison. Rows older than two windows are swept on the way.
      const { rows: mine } = await db.query<{ id: number }>(
        `with gone as (delete from lookup_failures where at < now() - make_interval(secs => $3))
         insert into lookup_failures (scope, key) values ('tracking', $1), ('address', $2) returning id`,
        [tracking, address, windowSec * 2],
      );
      const own = mine.map((r) => r.id);
      try {
        const { rows } = await db.query<{ scope: 'tracking' | 'address'; n: number }>(
          `select scope, count(*)::int as n from lookup_failures
            where ((scope = 'tracking' and key = $1) or (scope = 'address' and key = $2)) and at > now() - make_interval(secs => $3)
            group by scope`,
          [tracking, address, windowSec],
        );
        const count = (scope: string) => rows.find((r) => r.scope === scope)?.n ?? 0;
        if (count('tracking') > limits.perTrackingNo) throw new LookupLockedError('tracking', await retryAfter('tracking', tracking, limits.perTrackingNo, own));
        if (count('address') > limits.perAddress) throw new LookupLockedError('address', await retryAfter('address', address, limits.perAddress, own));
        const result = await attempt();
        if (result === null) return null; // the rows stay: a wrong guess
        await forget(own);
        return result;
      } catch (err) {
        // A refused attempt stays counted (guessing on keeps the lock closed); a failure of ours is not a guess.
        if (!(err instanceof LookupLockedError)) await forget(own);
        throw err;
      }
    },
  };
}

export type LookupGuard = ReturnType<typeof createLookupGuard>;
