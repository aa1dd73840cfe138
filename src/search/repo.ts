// SQL of the keyword search over search_docs (see migration 1764600000000_search.sql).
import type { Db } from '../infra/db';
import { toTsquery, type ParsedQuery } from './query';

export const DOC_TYPES = ['call', 'case', 'request', 'knowledge'] as const;
export type DocType = (typeof DOC_TYPES)[number];

/** Conditions over the facet dimensions only: usable on search_docs and on search_hot_counts alike. */
export interface DimFilter {
  types?: DocType[];
  categoryIds?: number[];
  departmentId?: number;
  statuses?: string[];
  channels?: string[];
  /** Row-level access: the role's visibility as dimension conditions. */
  access: { kind: 'all' } | { kind: 'published_knowledge_only' } | { kind: 'department'; departmentId: number };
}

export interface RowFilter {
  from?: string;
  to?: string;
  callerNumber?: string;
}

export interface ComboRow {
  doc_type: DocType;
  category_id: number | null;
  department_id: number | null;
  status: string | null;
  channel: string | null;
  n: number;
}

export interface PageRow {
  id: number;
  doc_type: DocType;
  src_id: number;
  call_id: string | null;
  title: string;
  body: string;
  category_id: number | null;
  department_id: number | null;
  status: string | null;
  channel: string | null;
  caller_number: string | null;
  created_at: Date;
  cursor_ts: string;
  tracking_no: string | null;
  contact_name: string | null;
  merged_into: number | null;
}

class Sql {
  params: unknown[] = [];
  where: string[] = [];
  p(v: unknown): string {
    this.params.push(v);
    return `$${this.params.length}`;
  }
}

function addDims(sql: Sql, f: DimFilter): void {
  if (f.types?.length) sql.where.push(`doc_type = any(${sql.p(f.types)}::text[])`);
  if (f.categoryIds?.length) sql.where.push(`category_id = any(${sql.p(f.categoryIds)}::int[])`);
  if (f.departmentId !== undefined) sql.where.push(`department_id = ${sql.p(f.departmentId)}`);
  if (f.statuses?.length) sql.where.push(`status = any(${sql.p(f.statuses)}::text[])`);
  if (f.channels?.length) sql.where.push(`channel = any(${sql.p(f.channels)}::text[])`);
  const a = f.access;
  if (a.kind === 'published_knowledge_only') sql.where.push(`(doc_type <> 'knowledge' or status = 'published')`);
  if (a.kind === 'department') {
    sql.where.push(
      `((doc_type in ('case', 'request') and department_id = ${sql.p(a.departmentId)}) or (doc_type = 'knowledge' and status = 'published'))`,
    );
  }
}

function addText(sql: Sql, q: ParsedQuery, alias = ''): void {
  if (q.lexemes.length) sql.where.push(`${alias}tsv @@ ${sql.p(toTsquery(q.lexemes))}::tsquery`);
  if (q.likePatterns.length) sql.where.push(`${alias}body like all (${sql.p(q.likePatterns)}::text[])`);
  if (q.ilikePatterns.length) sql.where.push(`${alias}body ilike all (${sql.p(q.ilikePatterns)}::text[])`);
}

function addRows(sql: Sql, r: RowFilter): void {
  if (r.from) sql.where.push(`created_at >= ${sql.p(r.from)}::timestamptz`);
  if (r.to) sql.where.push(`created_at < ${sql.p(r.to)}::timestamptz`);
  if (r.callerNumber) sql.where.push(`caller_number = ${sql.p(r.callerNumber)}`);
}

const whereOf = (sql: Sql) => (sql.where.length ? `where ${sql.where.join(' and ')}` : '');

export function createSearchRepo(db: Db) {
  return {
    /**
     * One pass over the matches (bitmap scan of the GIN index): exact counts per combination of the facet dimensions
     * and the ids of the page (newest first, after the keyset position).
     */
    async pageAndCombos(
      q: ParsedQuery, dims: DimFilter, rows: RowFilter, after: { ts: string; id: number } | null, limit: number,
    ): Promise<{ combos: ComboRow[]; ids: number[] }> {
      const sql = new Sql();
      addText(sql, q);
      addDims(sql, dims);
      addRows(sql, rows);
      const keyset = after ? `where (created_at, id) < (${sql.p(after.ts)}::timestamptz, ${sql.p(after.id)}::bigint)` : '';
      const lim = sql.p(limit);
      const text = `with hits as materialized (
           select id, created_at, doc_type, category_id, department_id, status, channel from search_docs ${whereOf(sql)}
         )
         select false as page, null::bigint as id, doc_type, category_id, department_id, status, channel, count(*)::int as n
           from hits group by 3, 4, 5, 6, 7
         union all
         (select true, id, null, null, null, null, null, null from hits ${keyset} order by created_at desc, id desc limit ${lim})`;
      // No JIT: compiling costs 40–100 ms, more than the counting itself below the hot threshold.
      const out = await db.withTransaction(async (tx) => {
        await db.query(`select set_config('jit', 'off', true)`, [], tx);
        return (await db.query<ComboRow & { id: number | null; page: boolean }>(text, sql.params, tx)).rows;
      });
      return { combos: out.filter((r) => !r.page), ids: out.filter((r) => r.page).map((r) => Number(r.id)) };
    },

    /**
     * Page ids by walking the newest-first index and checking each row's vector: for queries with many matches
     * (known from the hot aggregate), where a bitmap scan would visit every match to return 20.
     */
    async pageNewestFirst(q: ParsedQuery, dims: DimFilter, after: { ts: string; id: number } | null, limit: number): Promise<number[]> {
      const sql = new Sql();
      if (q.lexemes.length) sql.where.push(`(tsv @@ ${sql.p(toTsquery(q.lexemes))}::tsquery) is true`);
      if (q.likePatterns.length) sql.where.push(`body like all (${sql.p(q.likePatterns)}::text[])`);
      if (q.ilikePatterns.length) sql.where.push(`body ilike all (${sql.p(q.ilikePatterns)}::text[])`);
      addDims(sql, dims);
      if (after) sql.where.push(`(created_at, id) < (${sql.p(after.ts)}::timestamptz, ${sql.p(after.id)}::bigint)`);
      const text = `select id from search_docs ${whereOf(sql)} order by created_at desc, id desc limit ${sql.p(limit)}`;
      // The planner under-estimates such queries (LIKE and multi-bigram selectivity) and would scan everything.
      // JIT compilation and parallel workers would cost more than the few thousand rows the walk checks.
      return db.withTransaction(async (tx) => {
        await db.query(
          `select set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true),
                  set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true)`,
          [],
          tx,
        );
        const { rows } = await db.query<{ id: number }>(text, sql.params, tx);
        return rows.map((r) => Number(r.id));
      });
    },

    /** The page's rows in newest-first order. */
    async details(ids: number[]): Promise<PageRow[]> {
      if (!ids.length) return [];
      const { rows } = await db.query<PageRow>(
        `select d.id, d.doc_type, d.src_id, d.call_id, d.title, d.body, d.category_id, d.department_id, d.status, d.channel,
                d.caller_number, d.created_at,
                to_char(d.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_ts,
                c.tracking_no, c.contact_name, c.merged_into
           from search_docs d
           left join cases c on d.doc_type in ('case', 'request') and c.id = d.src_id
          where d.id = any($1::bigint[])
          order by d.created_at desc, d.id desc`,
        [ids],
      );
      return rows;
    },

    /** Documents in the index (planner statistics; an estimate). */
    async docCount(): Promise<number> {
      const { rows } = await db.query<{ n: number }>(`select greatest(reltuples, 0)::float8 as n from pg_class where oid = 'search_docs'::regclass`);
      return Number(rows[0]?.n ?? 0);
    },

    /** The same counts from the hot-query table, or null when the query is not there. */
    async hotCombos(q: ParsedQuery, dims: DimFilter): Promise<ComboRow[] | null> {
      const sql = new Sql();
      sql.where.push(`qkey = ${sql.p(q.qkey)}`, 'n > 0');
      addDims(sql, dims);
      const { rows } = await db.query<ComboRow & { hot: boolean }>(
        `select true as hot, null as doc_type, null::int as category_id, null::int as department_id, null as status,
                null as channel, 0 as n
           from search_hot_queries where qkey = $1
         union all
         select false, doc_type, category_id, department_id, status, channel, n from search_hot_counts ${whereOf(sql)}`,
        sql.params,
      );
      if (!rows.length || !rows[0]!.hot) return null;
      return rows.slice(1);
    },

    /**
     * Puts a query into the hot table with exact counts. Under a SHARE lock on search_docs (writers wait, readers
     * do not), so the trigger maintains every later write. Returns false when it was there already.
     */
    async buildHot(q: ParsedQuery): Promise<boolean> {
      return db.withTransaction(async (tx) => {
        await db.query(`lock table search_docs in share mode`, [], tx);
        const ins = await db.query(
          `insert into search_hot_queries (qkey, tsq, like_patterns, ilike_patterns)
           values ($1, $2::tsquery, $3, $4) on conflict (qkey) do nothing returning qkey`,
          [q.qkey, toTsquery(q.lexemes), q.likePatterns, q.ilikePatterns],
          tx,
        );
        if (!ins.rows.length) return false;
        const sql = new Sql();
        sql.p(q.qkey);
        addText(sql, q);
        await db.query(
          `insert into search_hot_counts (qkey, doc_type, category_id, department_id, status, channel, n)
           select $1, doc_type, category_id, department_id, status, channel, count(*)
             from search_docs ${whereOf(sql)}
            group by 2, 3, 4, 5, 6`,
          sql.params,
          tx,
        );
        await db.query(
          `update search_hot_queries set hits = (select coalesce(sum(n), 0) from search_hot_counts where qkey = $1) where qkey = $1`,
          [q.qkey],
          tx,
        );
        return true;
      });
    },

    async hotCount(): Promise<number> {
      const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from search_hot_queries`);
      return rows[0]!.n;
    },

    async names(categoryIds: number[], departmentIds: number[]) {
      const { rows } = await db.query<{ kind: 'c' | 'd'; id: number; name: string; code: string }>(
        `select 'c' as kind, id, name, code from categories where id = any($1::int[])
         union all
         select 'd', id, name, code from departments where id = any($2::int[])`,
        [categoryIds, departmentIds],
      );
      return rows;
    },

    /** The category and its descendants (a filter on a parent category includes its children). */
    async categoryWithChildren(id: number): Promise<number[]> {
      const { rows } = await db.query<{ id: number }>(
        `with recursive t as (select id from categories where id = $1
                              union all select c.id from categories c join t on c.parent_id = t.id)
         select id from t`,
        [id],
      );
      return rows.map((r) => r.id);
    },
  };
}

export type SearchRepo = ReturnType<typeof createSearchRepo>;
