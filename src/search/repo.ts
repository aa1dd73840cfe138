// SQL of the keyword search over search_docs (see migration 1764600000000_search.sql).
import { escapeLiteral } from 'pg';
import type { Db } from '../infra/db';
import { lex, phoneWindows, tsAnd, tsOr, type Confirm, type ParsedQuery } from './query';

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

/** Everything a search filters on: the index query (terms, dimensions, months) and what is checked on the row. */
export interface Conditions {
  /** tsquery text over the one GIN index; null: none (single characters only) → dims/confirm on the row. */
  tsq: string | null;
  dims: DimFilter;
  rows: RowFilter;
  q: ParsedQuery;
}

/** Dimension conditions as lexemes (answered inside the GIN index together with the keyword). */
export function dimsTsquery(f: DimFilter): string | null {
  const any = (prefix: string, vals: (string | number)[] | undefined) => (vals?.length ? tsOr(vals.map((v) => lex(`${prefix}${v}`))) : null);
  const a = f.access;
  const access =
    a.kind === 'published_knowledge_only'
      ? `!${lex('t:knowledge')} | ${lex('s:published')}`
      : a.kind === 'department'
        ? `((${lex('t:case')} | ${lex('t:request')}) & ${lex(`d:${a.departmentId}`)}) | (${lex('t:knowledge')} & ${lex('s:published')})`
        : null;
  return tsAnd(
    any('t:', f.types),
    any('c:', f.categoryIds),
    f.departmentId !== undefined ? lex(`d:${f.departmentId}`) : null,
    any('s:', f.statuses),
    any('ch:', f.channels),
    access,
  );
}

/** Months (m:YYYYMM, UTC) covering a bounded range of at most 36 months; null when unbounded or longer. */
export function monthsTsquery(r: RowFilter, now = new Date()): string | null {
  if (!r.from) return null;
  const from = new Date(r.from);
  const to = r.to ? new Date(r.to) : new Date(now.getTime() + 31 * 86_400_000);
  const months: string[] = [];
  let y = from.getUTCFullYear();
  let m = from.getUTCMonth();
  while (y < to.getUTCFullYear() || (y === to.getUTCFullYear() && m <= to.getUTCMonth())) {
    months.push(lex(`m:${y * 100 + m + 1}`));
    if (months.length > 36) return null;
    m += 1;
    if (m === 12) {
      m = 0;
      y += 1;
    }
  }
  return tsOr(months);
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

function addConfirm(sql: Sql, c: Confirm): void {
  if (c.kind === 'like') sql.where.push(`body like ${sql.p(c.pattern)}`);
  else if (c.kind === 'ilike') sql.where.push(`body ilike ${sql.p(c.pattern)}`);
  else sql.where.push(`(tsv @@ ${sql.p(c.token)}::tsquery or phones like ${sql.p(c.pattern)})`);
}

function addRows(sql: Sql, r: RowFilter): void {
  if (r.from) sql.where.push(`created_at >= ${sql.p(r.from)}::timestamptz`);
  if (r.to) sql.where.push(`created_at < ${sql.p(r.to)}::timestamptz`);
  if (r.callerNumber) sql.where.push(`caller_number = ${sql.p(r.callerNumber)}`);
}

/**
 * The full condition. With an index query, dimensions and months go into it (answered in the GIN index); without
 * one (single-character terms) they are row conditions. `extra` is ANDed into the index query (ranking tiers).
 */
export function buildConditions(q: ParsedQuery, dims: DimFilter, rows: RowFilter): Conditions {
  const digits = rows.callerNumber?.replace(/\D/g, '') ?? '';
  const tsq = q.tsq ? tsAnd(q.tsq, dimsTsquery(dims), monthsTsquery(rows), digits.length >= 4 ? phoneWindows(digits) : null) : null;
  return { tsq, dims, rows, q };
}

function addAll(sql: Sql, c: Conditions, extra: string | null, mode: 'index' | 'row'): void {
  const tsq = c.tsq ? tsAnd(c.tsq, extra) : null;
  if (tsq) sql.where.push(mode === 'index' ? `tsv @@ ${sql.p(tsq)}::tsquery` : `(tsv @@ ${sql.p(tsq)}::tsquery) is true`);
  else {
    addDims(sql, c.dims);
    if (extra) sql.where.push(`tsv @@ ${sql.p(extra)}::tsquery`);
  }
  for (const p of c.q.parts) if (p.confirm) addConfirm(sql, p.confirm);
  addRows(sql, c.rows);
}

/** Ranking tier of a row (relevance order): 2 when the terms are in the title/category field, +1 when they are words. */
function tierExpr(sql: Sql, q: ParsedQuery): string {
  const f = q.field ? `(case when tsv @@ ${sql.p(q.field)}::tsquery then 2 else 0 end)` : '0';
  const w = q.word ? `(case when tsv @@ ${sql.p(q.word)}::tsquery then 1 else 0 end)` : '0';
  return `(${f} + ${w})`;
}

/** The index condition selecting exactly one tier. */
export function tierTsquery(q: ParsedQuery, tier: number): string | null {
  const f = q.field ? (tier & 2 ? q.field : `!(${q.field})`) : null;
  const w = q.word ? (tier & 1 ? q.word : `!(${q.word})`) : null;
  return tsAnd(f, w);
}

/** Tiers that can occur for a query, best first. */
export function tiersOf(q: ParsedQuery): number[] {
  return [3, 2, 1, 0].filter((t) => (q.field || !(t & 2)) && (q.word || !(t & 1)));
}

export type Cursor = { tier: number; ts: string; id: number };

export type SampleLevel = 1 | 2 | 3 | 4;
/** Documents per sample row at each level (migration 1765200100000_search_sample_levels.sql). */
export const SAMPLE_RATE: Record<SampleLevel, number> = { 1: 32, 2: 128, 3: 512, 4: 2048 };

const whereOf = (sql: Sql) => (sql.where.length ? `where ${sql.where.join(' and ')}` : '');

/** A value as an SQL literal (strings, numbers, booleans, dates, flat arrays of those; null). */
export function literal(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error('non-finite number in a query');
    return `'${v}'`;
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof Date) return `'${v.toISOString()}'`;
  if (Array.isArray(v)) {
    const el = (x: unknown) => (x === null || x === undefined ? 'NULL' : `"${String(x instanceof Date ? x.toISOString() : x).replace(/[\\"]/g, (c) => `\\${c}`)}"`);
    return literal(`{${v.map(el).join(',')}}`);
  }
  const str = String(v);
  if (str.includes('\0')) throw new Error('NUL in a query value');
  // E'…' with backslashes doubled when there are any: right whatever standard_conforming_strings.
  return escapeLiteral(str);
}

/** $1, $2 … replaced by the values as literals (for a multi-statement message, which takes no parameters). */
export function inline(text: string, params: unknown[]): string {
  return text.replace(/\$(\d+)/g, (_, n: string) => {
    const i = Number(n) - 1;
    if (i < 0 || i >= params.length) throw new Error(`no value for $${n}`);
    return literal(params[i]);
  });
}

export function createSearchRepo(db: Db) {
  /**
   * A statement with planner settings local to it, in one round trip: set_config(…, true) and the statement as one
   * simple-protocol message, which PostgreSQL runs as one implicit transaction (the settings end with it; an error
   * rolls it back). Values are inlined as literals (such a message takes no parameters).
   */
  async function run<R extends object>(settings: Record<string, string>, text: string, params: unknown[]): Promise<R[]> {
    const keys = Object.keys(settings);
    const sets = keys.length ? `select ${keys.map((k) => `set_config(${literal(k)}, ${literal(settings[k])}, true)`).join(', ')}; ` : '';
    const res = (await db.query(sets + inline(text, params))) as unknown as { rows: R[] } | { rows: R[] }[];
    return Array.isArray(res) ? res[res.length - 1]!.rows : res.rows;
  }

  return {
    /**
     * Exact: one pass over the matches (bitmap scan of the GIN index) — counts per combination of the facet
     * dimensions and the ids of the page after the keyset position, newest first or by tier then newest.
     */
    async exact(c: Conditions, relevance: boolean, after: Cursor | null, limit: number): Promise<{ combos: ComboRow[]; page: { id: number; tier: number }[] }> {
      const sql = new Sql();
      addAll(sql, c, null, 'index');
      const tier = relevance ? tierExpr(sql, c.q) : '0';
      const order = relevance ? 'tier desc, created_at desc, id desc' : 'created_at desc, id desc';
      const keyset = after
        ? relevance
          ? `where (tier, created_at, id) < (${sql.p(after.tier)}::int, ${sql.p(after.ts)}::timestamptz, ${sql.p(after.id)}::bigint)`
          : `where (created_at, id) < (${sql.p(after.ts)}::timestamptz, ${sql.p(after.id)}::bigint)`
        : '';
      const text = `with hits as materialized (
           select id, created_at, doc_type, category_id, department_id, status, channel, ${tier} as tier from search_docs ${whereOf(sql)}
         )
         select false as page, null::bigint as id, null::int as tier, doc_type, category_id, department_id, status, channel, count(*)::int as n
           from hits group by 4, 5, 6, 7, 8
         union all
         (select true, id, tier, null, null, null, null, null, null from hits ${keyset} order by ${order} limit ${sql.p(limit)})`;
      // No JIT: compiling costs 40–100 ms, more than the counting itself.
      const out = await run<ComboRow & { id: number | null; page: boolean; tier: number | null }>({ jit: 'off' }, text, sql.params);
      return {
        combos: out.filter((r) => !r.page),
        page: out.filter((r) => r.page).map((r) => ({ id: Number(r.id), tier: Number(r.tier ?? 0) })),
      };
    },

    /**
     * Counts in the sample at a level (1: 1 in 32 documents, 2: 1 in 128, 3: 1 in 512, 4: 1 in 2048), per facet
     * combination and ranking tier, unscaled.
     */
    async sample(c: Conditions, level: SampleLevel, relevance: boolean, extra: string | null = null): Promise<(ComboRow & { tier: number })[]> {
      const sql = new Sql();
      // A literal level so that the planner can use the partial index of that level.
      sql.where.push(`level >= ${Number(level)}`);
      addAll(sql, c, extra, 'index');
      const tier = relevance ? tierExpr(sql, c.q) : '0';
      // One statement, no transaction: a few hundred rows at most, far below the cost where JIT would start.
      const { rows } = await db.query(
        `select doc_type, category_id, department_id, status, channel, ${tier} as tier, count(*)::int as n
           from search_sample ${whereOf(sql)} group by 1, 2, 3, 4, 5, 6`,
        sql.params,
      );
      return rows as unknown as (ComboRow & { tier: number })[];
    },

    /**
     * The sample's counts in one statement: level 4 (1 in 2048) first; its count predicts how many rows each finer
     * level would give, and only the branch of the coarsest level expected to hold `enough` rows runs (the others are
     * cut off by a one-time filter before reading anything). Each branch names its level as a literal, so that its
     * partial index is used.
     */
    async estimate(c: Conditions, relevance: boolean, enough: number): Promise<{ level: SampleLevel; rows: (ComboRow & { tier: number })[] }> {
      const sql = new Sql();
      const branch = (level: SampleLevel) => {
        const b = new Sql();
        b.params = sql.params;
        b.where.push(`level >= ${Number(level)}`);
        addAll(b, c, null, 'index');
        const tier = relevance ? tierExpr(b, c.q) : '0';
        return `select ${level} as level, doc_type, category_id, department_id, status, channel, ${tier} as tier, count(*)::int as n
                  from search_sample ${whereOf(b)}`;
      };
      const top = branch(4);
      const e = sql.p(enough);
      const text = `with l4 as materialized (${top} group by 2, 3, 4, 5, 6, 7),
           lv as (select case when s >= ${e}::int then 4 when s * 4 >= ${e}::int then 3 when s * 16 >= ${e}::int then 2 else 1 end as l
                    from (select coalesce(sum(n), 0) as s from l4) x)
         select * from l4 where (select l from lv) = 4
         union all (${branch(3)} and (select l from lv) = 3 group by 2, 3, 4, 5, 6, 7)
         union all (${branch(2)} and (select l from lv) = 2 group by 2, 3, 4, 5, 6, 7)
         union all (${branch(1)} and (select l from lv) = 1 group by 2, 3, 4, 5, 6, 7)`;
      const rows = await run<ComboRow & { tier: number; level: number }>({ jit: 'off' }, text, sql.params);
      if (!rows.length) {
        // No match at the chosen level (or none at all): which level it was follows from level 4's count of 0.
        return { level: enough <= 0 ? 4 : 1, rows: [] };
      }
      return { level: rows[0]!.level as SampleLevel, rows: rows.map(({ level: _l, ...r }) => r) };
    },

    /**
     * Exact counts per facet combination of the matches that also match `extra` (rare facet values: an OR of their
     * lexemes, so the index walks only their documents), at most `cap` rows, within `timeoutMs`. Null when the time
     * ran out.
     */
    async rare(c: Conditions, extra: string, cap: number, timeoutMs: number): Promise<ComboRow[] | null> {
      const sql = new Sql();
      addAll(sql, c, extra, 'index');
      try {
        return await run<ComboRow>(
          { jit: 'off', statement_timeout: `${Math.max(1, Math.round(timeoutMs))}ms` },
          `select doc_type, category_id, department_id, status, channel, count(*)::int as n
             from (select doc_type, category_id, department_id, status, channel from search_docs ${whereOf(sql)} limit ${Number(cap)}) m
            group by 1, 2, 3, 4, 5`,
          sql.params,
        );
      } catch (err) {
        if ((err as { code?: string }).code === '57014') return null; // statement_timeout
        throw err;
      }
    },

    /** Sample rows per facet combination over all documents at a level (how common each facet value is). */
    async sampleTotals(level: SampleLevel): Promise<ComboRow[]> {
      const { rows } = await db.query<ComboRow>(
        `select doc_type, category_id, department_id, status, channel, count(*)::int as n
           from search_sample where level >= ${Number(level)} group by 1, 2, 3, 4, 5`,
      );
      return rows;
    },

    /** Every category and department with its name (facet labels, and the values a facet can take). */
    async directory(): Promise<{ kind: 'c' | 'd'; id: number; name: string }[]> {
      const { rows } = await db.query<{ kind: 'c' | 'd'; id: number; name: string }>(
        `select 'c' as kind, id, name from categories union all select 'd', id, name from departments`,
      );
      return rows;
    },

    /**
     * Page ids by walking the newest-first index and checking each row: for conditions with many matches (known
     * from the sample), where a bitmap scan would visit every match to return 20. Expected rows checked:
     * limit × documents / matches.
     */
    async walk(c: Conditions, extra: string | null, after: { ts: string; id: number } | null, limit: number): Promise<number[]> {
      const sql = new Sql();
      addAll(sql, c, extra, 'row');
      if (after) sql.where.push(`(created_at, id) < (${sql.p(after.ts)}::timestamptz, ${sql.p(after.id)}::bigint)`);
      const text = `select id from search_docs ${whereOf(sql)} order by created_at desc, id desc limit ${sql.p(limit)}`;
      // The planner under-estimates such queries (LIKE and multi-bigram selectivity) and would scan everything;
      // JIT and parallel workers would cost more than the few thousand rows the walk checks.
      const rows = await run<{ id: number }>(
        { enable_seqscan: 'off', enable_bitmapscan: 'off', jit: 'off', max_parallel_workers_per_gather: '0' },
        text,
        sql.params,
      );
      return rows.map((r) => Number(r.id));
    },

    /**
     * Page ids among the matches of some months (m: lexemes, UTC), through the index (bitmap): for conditions with
     * a middling number of matches, where walking the newest-first index would check many rows per match but the
     * newest months hold enough of them.
     */
    async window(c: Conditions, extra: string | null, months: string[], after: { ts: string; id: number } | null, limit: number): Promise<number[]> {
      const sql = new Sql();
      addAll(sql, c, tsAnd(extra, tsOr(months.map((m) => lex(`m:${m}`)))), 'index');
      if (after) sql.where.push(`(created_at, id) < (${sql.p(after.ts)}::timestamptz, ${sql.p(after.id)}::bigint)`);
      // The planner would rather walk the newest-first index (it cannot know how few rows the months leave).
      const rows = await run<{ id: number }>(
        { jit: 'off', enable_indexscan: 'off', max_parallel_workers_per_gather: '0' },
        `select id from search_docs ${whereOf(sql)} order by created_at desc, id desc limit ${sql.p(limit)}`,
        sql.params,
      );
      return rows.map((r) => Number(r.id));
    },

    /** The documents' time span and about how many there are (planner statistics: cheap, not exact). */
    async span(): Promise<{ first: Date | null; last: Date | null; docs: number }> {
      const { rows } = await db.query<{ first: Date | null; last: Date | null; docs: number }>(
        `select (select min(created_at) from search_docs) as first, (select max(created_at) from search_docs) as last,
                greatest((select reltuples from pg_class where oid = 'search_docs'::regclass), 0)::float8 as docs`,
      );
      return rows[0]!;
    },

    /** Page ids of one tier through the index (bitmap) — for tiers with few matches. */
    async tierPage(c: Conditions, extra: string | null, after: { ts: string; id: number } | null, limit: number): Promise<number[]> {
      const sql = new Sql();
      addAll(sql, c, extra, 'index');
      if (after) sql.where.push(`(created_at, id) < (${sql.p(after.ts)}::timestamptz, ${sql.p(after.id)}::bigint)`);
      const rows = await run<{ id: number }>(
        { jit: 'off' },
        `select id from search_docs ${whereOf(sql)} order by created_at desc, id desc limit ${sql.p(limit)}`,
        sql.params,
      );
      return rows.map((r) => Number(r.id));
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
