// Hot topics' daily aggregate (migration 1766100000000_topic_days.sql): documents per jieba word per local day,
// for past days, so that a month's or a year's KPI page does not unnest the words of every document of the range.
// One process at a time does the work (advisory lock); it aggregates again days whose documents changed (marked in
// search_topic_dirty by a trigger) and, newest first, days never aggregated. Reports stay exact meanwhile: they
// count days not (or no longer) aggregated from search_docs (ReportsRepo.topics).
import type { Db } from '../infra/db';
import type { Logger } from '../infra/logger';
import { periodic } from '../infra/periodic';

const LOCK = 114_013_001;
/** Documents that count for hot topics (call notes, cases and web requests; not knowledge articles). */
export const TOPIC_SOURCES = `src in ('note', 'case')`;

export function createTopicAggregator(deps: { db: Db; timezone: string; logger?: Logger; intervalMs?: number; daysPerRun?: number }) {
  const { db, timezone: tz } = deps;
  const intervalMs = deps.intervalMs ?? 5 * 60_000;
  const daysPerRun = deps.daysPerRun ?? 31;

  /**
   * One transaction: aggregates the past days whose documents changed and up to daysPerRun days never aggregated
   * (newest first); `more` when further days wait.
   */
  async function runOnce(): Promise<{ days: number; more: boolean }> {
    return db.withTransaction(async (tx) => {
      const q = <R extends object>(text: string, params: unknown[] = []) => db.query<R>(text, params, tx).then((r) => r.rows);
      if (!(await q<{ ok: boolean }>(`select pg_try_advisory_xact_lock($1) as ok`, [LOCK]))[0]!.ok) return { days: 0, more: false };
      // Changed documents seen now; later changes stay marked for the next run.
      const dirty = await q<{ day: string }>(
        `with d as (delete from search_topic_dirty returning at)
         select distinct (at at time zone $1)::date::text as day from d`,
        [tz],
      );
      const fresh = await q<{ day: string }>(
        `select g::date::text as day
           from generate_series((select (min(created_at) at time zone $1)::date from search_docs),
                                (now() at time zone $1)::date - 1, interval '1 day') g
          where not exists (select 1 from search_topic_done d where d.tz = $1 and d.day = g::date)
          order by g desc limit $2`,
        [tz, daysPerRun],
      );
      const days = [...new Set([...dirty.map((r) => r.day), ...fresh.map((r) => r.day)])];
      if (!days.length) return { days: 0, more: false };
      // Only past days: today is always counted from search_docs.
      await q(`delete from search_topic_done where tz = $1 and day = any($2::date[])`, [tz, days]);
      await q(`delete from search_topic_days where tz = $1 and day = any($2::date[])`, [tz, days]);
      await q(
        `insert into search_topic_days (tz, day, term, n)
         select $1, dd.day, w, count(*)::int
           from unnest($2::date[]) as dd(day)
           join search_docs s on s.created_at >= (dd.day::timestamp at time zone $1) and s.created_at < ((dd.day + 1)::timestamp at time zone $1)
            and ${TOPIC_SOURCES.replace('src', 's.src')} and s.words is not null,
                unnest(s.words) as w
          where dd.day < (now() at time zone $1)::date
          group by dd.day, w`,
        [tz, days],
      );
      const done = await q(
        `insert into search_topic_done (tz, day) select $1, d from unnest($2::date[]) d where d < (now() at time zone $1)::date returning day`,
        [tz, days],
      );
      return { days: done.length, more: fresh.length === daysPerRun };
    });
  }

  /** Runs until every past day is aggregated and no change is pending. */
  async function catchUp(): Promise<number> {
    let total = 0;
    for (;;) {
      const r = await runOnce();
      total += r.days;
      if (!r.more) return total;
    }
  }

  const job = periodic(catchUp, intervalMs, (err) => deps.logger?.warn({ err }, 'hot-topic aggregation failed'));

  return { runOnce, catchUp, start: job.start, stop: job.stop };
}

export type TopicAggregator = ReturnType<typeof createTopicAggregator>;
