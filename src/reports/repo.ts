// SQL of the KPIs. Inbound calls are counted by their start time; periods are cut in the reporting time zone.
// Definitions (also in the route's description):
//   offered = inbound calls started in the range within opening hours (after_hours calls are counted apart);
//   answered / abandoned / failed / callback (left the queue asking to be called back) by outcome;
//   answeredWithinSl = answered with wait_ms <= the threshold (wait = from arrival to connection);
//   avgWaitMs over answered and abandoned calls; avgAnswerWaitMs (ASA) over answered; avgTalkMs over answered.
import { TOPIC_SOURCES } from './topics';
import type { Db } from '../infra/db';

export type Granularity = 'hour' | 'day' | 'month';

export interface CallAggRow {
  offered: number;
  callback_requested: number;
  after_hours: number;
  answered: number;
  abandoned: number;
  failed: number;
  answered_in_sl: number;
  avg_wait_ms: number | null;
  avg_answer_wait_ms: number | null;
  max_wait_ms: number | null;
  avg_talk_ms: number | null;
  total_talk_ms: number | null;
}

export interface AgentAggRow {
  agent_id: number;
  extension: string;
  display_name: string;
  answered: number;
  avg_talk_ms: number | null;
  total_talk_ms: number | null;
  offers: number;
  missed_offers: number;
  survey_rated: number;
  survey_satisfied: number;
}

export interface DeptAggRow {
  department_code: string;
  department_name: string;
  dispatched: number;
  resolved: number;
  resolved_on_time: number;
  returned: number;
  extensions: number;
  callbacks: number;
  satisfied: number;
  basically_satisfied: number;
  unsatisfied: number;
}

export interface TopicRow {
  term: string;
  count: number;
  previous: number;
}

const callAggs = (sl: string) => `
  (count(c.started_at) filter (where c.outcome is distinct from 'after_hours'))::int as offered,
  (count(*) filter (where c.outcome = 'callback'))::int as callback_requested,
  (count(*) filter (where c.outcome = 'after_hours'))::int as after_hours,
  (count(*) filter (where c.outcome = 'answered'))::int as answered,
  (count(*) filter (where c.outcome = 'abandoned'))::int as abandoned,
  (count(*) filter (where c.outcome in ('failed', 'no_agent')))::int as failed,
  (count(*) filter (where c.outcome = 'answered' and c.wait_ms <= ${sl}))::int as answered_in_sl,
  round(avg(c.wait_ms) filter (where c.outcome in ('answered', 'abandoned')))::int as avg_wait_ms,
  round(avg(c.wait_ms) filter (where c.outcome = 'answered'))::int as avg_answer_wait_ms,
  max(c.wait_ms) filter (where c.outcome in ('answered', 'abandoned')) as max_wait_ms,
  round(avg(c.talk_ms) filter (where c.outcome = 'answered'))::int as avg_talk_ms,
  (sum(c.talk_ms) filter (where c.outcome = 'answered'))::bigint as total_talk_ms`;

export class ReportsRepo {
  private columnsChecked: Promise<{ survey: boolean; cases: boolean; search: boolean }> | null = null;

  constructor(private readonly db: Db) {}

  /** Which optional parts exist (the survey column, work orders, the search index): checked once. */
  features(): Promise<{ survey: boolean; cases: boolean; search: boolean }> {
    this.columnsChecked ??= this.db
      .query<{ survey: boolean; cases: boolean; search: boolean }>(
        `select exists (select 1 from information_schema.columns where table_schema = current_schema() and table_name = 'calls' and column_name = 'survey_score') as survey,
                to_regclass('case_events') is not null and to_regclass('case_callbacks') is not null as cases,
                to_regclass('search_docs') is not null as search`,
      )
      .then((r) => r.rows[0]!)
      .catch((err: unknown) => {
        this.columnsChecked = null;
        throw err;
      });
    return this.columnsChecked;
  }

  /** Resolves the range: ISO instants as given, bare dates as local midnight in the time zone. */
  async bounds(from: string | undefined, to: string | undefined, tz: string): Promise<{ from: Date; to: Date }> {
    const { rows } = await this.db.query<{ f: Date; t: Date }>(
      `select case when $1::text is null then date_trunc('day', now() at time zone $3) at time zone $3
                   when $1 ~ '^\\d{4}-\\d{2}-\\d{2}$' then $1::timestamp at time zone $3
                   else $1::timestamptz end as f,
              case when $2::text is null then now()
                   when $2 ~ '^\\d{4}-\\d{2}-\\d{2}$' then $2::timestamp at time zone $3
                   else $2::timestamptz end as t`,
      [from ?? null, to ?? null, tz],
    );
    return { from: rows[0]!.f, to: rows[0]!.t };
  }

  async bucketCount(from: Date, to: Date, tz: string, g: Granularity): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      `select count(*)::int as n from generate_series(date_trunc($4, $1::timestamptz at time zone $3),
         ($2::timestamptz at time zone $3) - interval '1 microsecond', ('1 ' || $4)::interval) gs`,
      [from, to, tz, g],
    );
    return rows[0]!.n;
  }

  async periods(from: Date, to: Date, tz: string, g: Granularity, slMs: number): Promise<(CallAggRow & { label: string; period_start: Date })[]> {
    const fmt = g === 'hour' ? 'YYYY-MM-DD HH24:00' : g === 'day' ? 'YYYY-MM-DD' : 'YYYY-MM';
    const { rows } = await this.db.query<CallAggRow & { label: string; period_start: Date }>(
      `with b as (
         select gs as local_start from generate_series(date_trunc($4, $1::timestamptz at time zone $3),
           ($2::timestamptz at time zone $3) - interval '1 microsecond', ('1 ' || $4)::interval) gs
       ), c as (
         select date_trunc($4, started_at at time zone $3) as local_start, started_at, outcome, wait_ms, talk_ms
           from calls where direction = 'inbound' and started_at >= $1 and started_at < $2
       )
       select to_char(b.local_start, $6) as label, b.local_start at time zone $3 as period_start, ${callAggs('$5')}
         from b left join c using (local_start)
        group by b.local_start order by b.local_start`,
      [from, to, tz, g, slMs, fmt],
    );
    return rows;
  }

  async totals(from: Date, to: Date, slMs: number): Promise<CallAggRow> {
    const { rows } = await this.db.query<CallAggRow>(
      `select ${callAggs('$3')} from calls c where c.direction = 'inbound' and c.started_at >= $1 and c.started_at < $2`,
      [from, to, slMs],
    );
    return rows[0]!;
  }

  async agents(from: Date, to: Date, survey: boolean): Promise<AgentAggRow[]> {
    const surveyCols = survey
      ? `(count(*) filter (where survey_score is not null))::int as survey_rated,
         (count(*) filter (where survey_score in (1, 2)))::int as survey_satisfied`
      : `0 as survey_rated, 0 as survey_satisfied`;
    const { rows } = await this.db.query<AgentAggRow>(
      `with c as (
         select agent_id, count(*)::int as answered, round(avg(talk_ms))::int as avg_talk_ms, sum(talk_ms)::bigint as total_talk_ms, ${surveyCols}
           from calls where direction = 'inbound' and outcome = 'answered' and started_at >= $1 and started_at < $2 and agent_id is not null
          group by agent_id
       ), o as (
         select agent_id, count(*)::int as offers, (count(*) filter (where result in ('no_answer', 'busy', 'failed')))::int as missed_offers
           from call_offers where offered_at >= $1 and offered_at < $2 group by agent_id
       )
       select a.id as agent_id, a.extension, u.display_name, coalesce(c.answered, 0) as answered, c.avg_talk_ms, c.total_talk_ms,
              coalesce(o.offers, 0) as offers, coalesce(o.missed_offers, 0) as missed_offers,
              coalesce(c.survey_rated, 0) as survey_rated, coalesce(c.survey_satisfied, 0) as survey_satisfied
         from agents a join users u on u.id = a.user_id
         left join c on c.agent_id = a.id left join o on o.agent_id = a.id
        where c.agent_id is not null or o.agent_id is not null
        order by a.extension`,
      [from, to],
    );
    return rows;
  }

  async survey(from: Date, to: Date): Promise<{ score: number; n: number }[]> {
    const { rows } = await this.db.query<{ score: number; n: number }>(
      `select survey_score as score, count(*)::int as n from calls
        where direction = 'inbound' and started_at >= $1 and started_at < $2 and survey_score is not null
        group by survey_score order by survey_score`,
      [from, to],
    );
    return rows;
  }

  /**
   * Case figures per department, by the time of each event. The department of an event is the one the case was
   * last routed to before it (dispatch / reopen events carry departmentCode); a resolution is on time when it came
   * before the resolve deadline in force then (set by the routing, moved by an approved extension).
   */
  async departments(from: Date, to: Date): Promise<DeptAggRow[]> {
    const { rows } = await this.db.query<DeptAggRow>(
      `with ev as (
         select e.id, e.case_id, e.action, e.at,
                coalesce(e.detail->>'departmentCode', (
                  select p.detail->>'departmentCode' from case_events p
                   where p.case_id = e.case_id and p.id < e.id and p.detail ? 'departmentCode' order by p.id desc limit 1)) as dept,
                case when e.action = 'resolve' then (
                  select (p.detail->>'resolveDeadline')::timestamptz from case_events p
                   where p.case_id = e.case_id and p.id < e.id and p.detail ? 'resolveDeadline' order by p.id desc limit 1) end as deadline
           from case_events e
          where e.at >= $1 and e.at < $2 and e.action in ('dispatch', 'callback_reopen', 'resolve', 'return', 'request_extension')
       ), ev_agg as (
         select dept,
                (count(*) filter (where action in ('dispatch', 'callback_reopen')))::int as dispatched,
                (count(*) filter (where action = 'resolve'))::int as resolved,
                (count(*) filter (where action = 'resolve' and (deadline is null or at <= deadline)))::int as resolved_on_time,
                (count(*) filter (where action = 'return'))::int as returned,
                (count(*) filter (where action = 'request_extension'))::int as extensions
           from ev where dept is not null group by dept
       ), cb as (
         select d.code as dept, count(*)::int as callbacks,
                (count(*) filter (where k.satisfaction = 'satisfied'))::int as satisfied,
                (count(*) filter (where k.satisfaction = 'basically_satisfied'))::int as basically_satisfied,
                (count(*) filter (where k.satisfaction = 'unsatisfied'))::int as unsatisfied
           from case_callbacks k join cases s on s.id = k.case_id join departments d on d.id = s.department_id
          where k.created_at >= $1 and k.created_at < $2
          group by d.code
       )
       select d.code as department_code, d.name as department_name,
              coalesce(a.dispatched, 0) as dispatched, coalesce(a.resolved, 0) as resolved, coalesce(a.resolved_on_time, 0) as resolved_on_time,
              coalesce(a.returned, 0) as returned, coalesce(a.extensions, 0) as extensions,
              coalesce(cb.callbacks, 0) as callbacks, coalesce(cb.satisfied, 0) as satisfied,
              coalesce(cb.basically_satisfied, 0) as basically_satisfied, coalesce(cb.unsatisfied, 0) as unsatisfied
         from departments d left join ev_agg a on a.dept = d.code left join cb on cb.dept = d.code
        where a.dept is not null or cb.dept is not null
        order by d.code`,
      [from, to],
    );
    return rows;
  }

  /**
   * Hot topics: words and phrases (jieba with the hotline dictionary, search_docs.words) of call notes, cases and web
   * requests, by the number of documents containing them in the range, with the count of the previous period of the
   * same length. Documents the word indexer has not reached yet (a few seconds) are not counted.
   */
  async topics(from: Date, to: Date, tz: string, minCount: number, stop: string[], numeric: string, limit: number): Promise<TopicRow[]> {
    const prevFrom = new Date(2 * from.getTime() - to.getTime());
    // Whole local days of the two periods that the daily aggregate holds, unchanged since (src/reports/topics.ts).
    const { rows: days } = await this.db.query<{ day: string; start: Date; end: Date }>(
      `select d.day::text as day, d.day::timestamp at time zone $1 as start, (d.day + 1)::timestamp at time zone $1 as end
         from search_topic_done d
        where d.tz = $1 and d.day >= ($2::timestamptz at time zone $1)::date - 1 and d.day <= ($3::timestamptz at time zone $1)::date
          and d.day::timestamp at time zone $1 >= $2 and (d.day + 1)::timestamp at time zone $1 <= $3
          and ((d.day + 1)::timestamp at time zone $1 <= $4 or d.day::timestamp at time zone $1 >= $4)
          and not exists (select 1 from search_topic_dirty x
                           where x.at >= d.day::timestamp at time zone $1 and x.at < (d.day + 1)::timestamp at time zone $1)
        order by d.day`,
      [tz, prevFrom, to, from],
    );
    // The rest of [prevFrom, to) is counted from the documents.
    const starts: Date[] = [];
    const ends: Date[] = [];
    let pos = prevFrom;
    for (const d of days) {
      if (d.start.getTime() > pos.getTime()) {
        starts.push(pos);
        ends.push(d.start);
      }
      pos = d.end;
    }
    if (pos.getTime() < to.getTime()) {
      starts.push(pos);
      ends.push(to);
    }
    const curDays = days.filter((d) => d.start.getTime() >= from.getTime()).map((d) => d.day);
    const prevDays = days.filter((d) => d.start.getTime() < from.getTime()).map((d) => d.day);
    const { rows } = await this.db.query<TopicRow>(
      `with d as (
         select s.words, s.created_at >= $1 as cur
           from unnest($6::timestamptz[], $7::timestamptz[]) as r(s, e)
           join lateral (select words, created_at from search_docs
                          where ${TOPIC_SOURCES} and created_at >= r.s and created_at < r.e and words is not null) s on true
       ), x as (
         select w, case when d.cur then 1 else 0 end as cur, case when d.cur then 0 else 1 end as prev from d, unnest(d.words) as w
         union all
         select term, case when day = any($9::date[]) then n else 0 end, case when day = any($9::date[]) then 0 else n end
           from search_topic_days where tz = $8 and day = any($10::date[])
       ), t as (
         select w, sum(cur)::int as cur, sum(prev)::int as prev from x
          where w ~ '^[\u3400-\u4dbf\u4e00-\u9fff]{2,}$' and not (w = any($3::text[])) and w !~ $5
          group by w
       )
       select w as term, cur as count, prev as previous from t
        where cur >= $2
        order by cur desc, (cur - prev) desc, w limit $4`,
      [from, minCount, stop, limit, numeric, starts, ends, tz, curDays, [...curDays, ...prevDays]],
    );
    return rows;
  }
}
