// Search benchmark: node -r @swc-node/register bench/search.ts [--n=1000000] [--runs=5] [--prewarm=20]
//   [--hot=20000] [--ilike-runs=1] [--keep] [--db=h114_bench]
// Creates a separate database, loads a synthetic Chinese corpus (bench/search-corpus.ts) with COPY, fills
// search_docs and builds the bigram GIN index, then times the whole response a person sees — first page of 20,
// total count, facet counts (type, category, department, status, channel), names, highlighted snippets — through
// SearchService, and the same response computed with plain ILIKE, over a query mix of 2-, 3- and 4-character
// keywords from rare to very common. Drops the database at the end unless --keep.
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createDb, type Db } from '../src/infra/db';
import { migrate } from '../src/infra/migrate';
import { seed } from '../src/cli/seed';
import { createSearchService } from '../src/search/service';
import { escapeLike, snippet } from '../src/search/query';
import type { AuthUser } from '../src/auth/types';
import { generateCorpus, queryMix, type CorpusCase } from './search-corpus';

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k!, v ?? 'true'];
  }),
);
const N = Number(args.n ?? 1_000_000);
const RUNS = Number(args.runs ?? 5);
const ILIKE_RUNS = Number(args['ilike-runs'] ?? 1);
const PREWARM = Number(args.prewarm ?? 50);
const HOT = Number(args.hot ?? 2_000);
const KEEP = args.keep === 'true';
const DB_NAME = String(args.db ?? 'h114_bench');
const BASE_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const url = new URL(BASE_URL);
url.pathname = `/${DB_NAME}`;
const BENCH_URL = url.toString();

const ADMIN: AuthUser = { id: 1, username: 'bench', displayName: 'bench', role: 'admin', departmentId: null, agentId: null };

const ms = (t0: number) => performance.now() - t0;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};
const f1 = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const log = (...a: unknown[]) => console.log(...a);

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: BASE_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\t/g, ' ').replace(/\n/g, '\\n');
const iso = (d: Date) => d.toISOString();

async function copyRows(client: pg.PoolClient, sql: string, rows: Iterable<string>): Promise<void> {
  const stream = client.query(copyFrom(sql));
  async function* chunks() {
    let buf: string[] = [];
    for (const r of rows) {
      buf.push(r);
      if (buf.length >= 2000) {
        yield buf.join('');
        buf = [];
      }
    }
    if (buf.length) yield buf.join('');
  }
  await pipeline(Readable.from(chunks()), stream);
}

async function load(db: Db): Promise<Record<string, number>> {
  const times: Record<string, number> = {};
  const cat = new Map((await db.query<{ id: number; code: string }>(`select id, code from categories`)).rows.map((r) => [r.code, r.id]));
  const dep = new Map((await db.query<{ id: number; code: string }>(`select id, code from departments`)).rows.map((r) => [r.code, r.id]));
  const author = (await db.query<{ id: number }>(`select id from users where username = 'agent1001'`)).rows[0]!.id;
  const client = await db.pool.connect();
  try {
    await client.query(`set session_replication_role = replica`); // no triggers, no FK checks while loading
    await client.query(`drop index if exists search_docs_vector_idx`);
    const corpus: CorpusCase[] = [];
    let t0 = performance.now();
    for (const c of generateCorpus({ n: N })) corpus.push(c);
    times.generate = ms(t0);
    t0 = performance.now();
    const withNotes = corpus.filter((c) => c.note);
    await copyRows(
      client,
      `copy calls (id, node_id, channel_id, caller_number, state, outcome, started_at, ended_at) from stdin`,
      (function* () {
        for (const c of withNotes) {
          yield `${c.note!.callId}\tbench\tch-${c.note!.callId.slice(0, 8)}\t${c.phone}\tended\tanswered\t${iso(new Date(c.note!.createdAt.getTime() - 300_000))}\t${iso(c.note!.createdAt)}\n`;
        }
      })(),
    );
    await copyRows(
      client,
      `copy call_notes (call_id, author_id, category_id, content, created_at, updated_at) from stdin`,
      (function* () {
        for (const c of withNotes) {
          yield `${c.note!.callId}\t${author}\t${cat.get(c.category) ?? '\\N'}\t${esc(c.note!.content)}\t${iso(c.note!.createdAt)}\t${iso(c.note!.createdAt)}\n`;
        }
      })(),
    );
    await copyRows(
      client,
      `copy cases (tracking_no, channel, status, contact_phone, category_id, department_id, title, description, reply, call_id, created_at, updated_at) from stdin`,
      (function* () {
        for (const c of corpus) {
          const dept = c.department ? dep.get(c.department) ?? '\\N' : '\\N';
          yield `${c.trackingNo}\t${c.channel}\t${c.status}\t${c.phone}\t${cat.get(c.category) ?? '\\N'}\t${dept}\t${esc(c.title)}\t${esc(c.description)}\t${c.reply ? esc(c.reply) : '\\N'}\t${c.note ? c.note.callId : '\\N'}\t${iso(c.createdAt)}\t${iso(c.createdAt)}\n`;
        }
      })(),
    );
    times.copy = ms(t0);
    times.cases = corpus.length;
    times.notes = withNotes.length;
    corpus.length = 0;
    // search_docs as the triggers would have written it (one set-based statement per source; tsv is generated).
    t0 = performance.now();
    await client.query(
      `insert into search_docs (src, src_id, doc_type, call_id, title, body, category_id, department_id, status, channel, caller_number, created_at)
       select 'case', c.id, case when c.channel in ('web', 'open311') then 'request' else 'case' end, c.call_id,
              coalesce(nullif(c.title, ''), left(c.description, 40)),
              c.title || E'\\n' || c.description || coalesce(E'\\n' || c.reply, '') || E'\\n' || c.tracking_no || coalesce(E'\\n' || c.contact_phone, ''),
              c.category_id, c.department_id, c.status, c.channel, c.contact_phone, c.created_at
         from cases c`,
    );
    await client.query(
      `insert into search_docs (src, src_id, doc_type, call_id, title, body, category_id, department_id, status, channel, caller_number, created_at)
       select 'note', n.id, 'call', n.call_id, '通话小结', n.content || coalesce(E'\\n' || nullif(k.caller_number, ''), ''), n.category_id, null,
              case when n.resolved then 'resolved_on_phone' else 'noted' end, 'phone', nullif(k.caller_number, ''), n.created_at
         from call_notes n join calls k on k.id = n.call_id`,
    );
    times.searchDocs = ms(t0);
    await client.query(`set session_replication_role = origin`);
    await client.query(`set maintenance_work_mem = '1GB'`);
    t0 = performance.now();
    await client.query(`create index search_docs_vector_idx on search_docs using gin (tsv)`);
    times.gin = ms(t0);
    t0 = performance.now();
    await client.query(`vacuum (analyze) search_docs`);
    await client.query(`analyze cases`);
    times.analyze = ms(t0);
  } finally {
    client.release();
  }
  return times;
}

/** The same response (page of 20, total, facets, names, snippets) with plain ILIKE on the same table. */
async function ilikeSearch(db: Db, q: string) {
  const pattern = `%${escapeLike(q)}%`;
  const [page, combos] = await Promise.all([
    db.query<{ id: number; title: string; body: string; category_id: number | null; department_id: number | null }>(
      `select id, doc_type, src_id, title, body, category_id, department_id, status, channel, created_at
         from search_docs where body ilike $1 order by created_at desc, id desc limit 21`,
      [pattern],
    ),
    db.query<{ n: number; category_id: number | null; department_id: number | null }>(
      `select doc_type, category_id, department_id, status, channel, count(*)::int as n from search_docs where body ilike $1 group by 1, 2, 3, 4, 5`,
      [pattern],
    ),
  ]);
  await db.query(`select id, name from categories where id = any($1::int[]) union all select id, name from departments where id = any($2::int[])`, [
    [...new Set(combos.rows.map((r) => r.category_id).filter((x) => x !== null))],
    [...new Set(combos.rows.map((r) => r.department_id).filter((x) => x !== null))],
  ]);
  page.rows.slice(0, 20).forEach((r) => snippet(r.body, [q]));
  return combos.rows.reduce((s, r) => s + r.n, 0);
}

async function main() {
  log(`search benchmark: N=${N} cases, runs=${RUNS}, prewarm=${PREWARM}, hot threshold=${HOT}, database ${DB_NAME}`);
  await admin(`drop database if exists ${DB_NAME}`);
  await admin(`create database ${DB_NAME}`);
  const db = createDb({ url: BENCH_URL, max: 6 });
  try {
    await migrate(BENCH_URL, null);
    await seed(db, { issueTokens: false });
    const times = await load(db);
    const sizes = (
      await db.query<{ docs: number; heap: string; toast: string; gin: string; gin_bytes: number }>(
        `select (select count(*) from search_docs)::int as docs, pg_size_pretty(pg_relation_size('search_docs')) as heap,
                pg_size_pretty(pg_total_relation_size('search_docs') - pg_relation_size('search_docs') - pg_indexes_size('search_docs')) as toast,
                pg_size_pretty(pg_relation_size('search_docs_vector_idx')) as gin, pg_relation_size('search_docs_vector_idx') as gin_bytes`,
      )
    ).rows[0]!;
    log(`generated ${times.cases} cases + ${times.notes} call notes in ${(times.generate! / 1000).toFixed(1)} s; COPY ${(times.copy! / 1000).toFixed(1)} s`);
    log(`search_docs: ${sizes.docs} rows filled in ${(times.searchDocs! / 1000).toFixed(1)} s (bigrams computed in PostgreSQL); heap ${sizes.heap}, vectors (TOAST) ${sizes.toast}`);
    log(`GIN index: ${sizes.gin}, built in ${(times.gin! / 1000).toFixed(1)} s; vacuum+analyze ${(times.analyze! / 1000).toFixed(1)} s`);

    const svc = createSearchService({ db, exactThreshold: HOT });

    const mix = queryMix();
    const cold: number[] = [];
    const warm: number[] = [];
    const ilike: number[] = [];
    const builds: number[] = [];
    log('\nquery        kind                        hits   first(ms)  warm p50  warm max  source     ILIKE(ms)  ratio');
    for (const { q, kind } of mix) {
      let t = performance.now();
      const first = await svc.search(ADMIN, { q, limit: 20 });
      const c = ms(t);
      cold.push(c);
      const w: number[] = [];
      let source = first.countSource;
      for (let i = 0; i < RUNS; i++) {
        t = performance.now();
        const r = await svc.search(ADMIN, { q, limit: 20 });
        w.push(ms(t));
        source = r.countSource;
        if (r.total !== first.total) throw new Error(`total changed for ${q}: ${first.total} → ${r.total}`);
      }
      warm.push(...w);
      const il: number[] = [];
      let ilTotal = 0;
      for (let i = 0; i < ILIKE_RUNS; i++) {
        t = performance.now();
        ilTotal = await ilikeSearch(db, q);
        il.push(ms(t));
      }
      ilike.push(...il);
      if (ilTotal !== first.total) throw new Error(`ILIKE and index disagree for ${q}: ${ilTotal} vs ${first.total}`);
      log(
        `${q.padEnd(12 - [...q].length)} ${kind.padEnd(26)} ${String(first.total).padStart(7)}  ${f1(c).padStart(8)}  ${f1(pct(w, 50)).padStart(8)}  ${f1(Math.max(...w)).padStart(8)}  ${source.padEnd(9)}  ${f1(pct(il, 50)).padStart(9)}  ${(pct(il, 50) / pct(w, 50)).toFixed(0).padStart(5)}×`,
      );
    }
    log('\nsummary (whole response: page of 20 + exact total + 5 facets + names + snippets)');
    log(`  index, steady state (${warm.length} runs): p50 ${f1(pct(warm, 50))} ms, p95 ${f1(pct(warm, 95))} ms, max ${f1(Math.max(...warm))} ms`);
    log(`  index, first request of each query (${cold.length}): p50 ${f1(pct(cold, 50))} ms, p95 ${f1(pct(cold, 95))} ms, max ${f1(Math.max(...cold))} ms`);
    log(`  ILIKE (${ilike.length} runs): p50 ${f1(pct(ilike, 50))} ms, p95 ${f1(pct(ilike, 95))} ms`);
    log(`  ratio ILIKE / index steady state: p50 ${(pct(ilike, 50) / pct(warm, 50)).toFixed(0)}×, p95 ${(pct(ilike, 95) / pct(warm, 95)).toFixed(0)}×`);
    log(`  ratio ILIKE / index first request: p50 ${(pct(ilike, 50) / pct(cold, 50)).toFixed(0)}×, p95 ${(pct(ilike, 95) / pct(cold, 95)).toFixed(0)}×`);
    if (builds.length) log(`  hot aggregates built on demand: ${builds.length}, ${builds.map((b) => f1(b)).join(', ')} ms (writers wait that long once)`);
    // Write cost: cases inserted one by one through the triggers (search_docs row, vector, hot aggregates).
    const catId = (await db.query<{ id: number }>(`select id from categories where code = 'help-heating'`)).rows[0]!.id;
    const writes: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t1 = performance.now();
      await db.query(
        `insert into cases (tracking_no, channel, status, contact_phone, category_id, title, description)
         values ($1, 'web', 'draft', '13800000000', $2, '幸福小区供暖不热', '市民反映：幸福小区3号楼2单元家中暖气不热，室温只有十四度，已经持续一周了，希望相关部门尽快处理。')`,
        [`114-29991231-${String(i).padStart(6, '0')}`, catId],
      );
      writes.push(ms(t1));
    }
    log(`  write cost (insert of one case, triggers incl. hot aggregates): p50 ${f1(pct(writes, 50))} ms, p95 ${f1(pct(writes, 95))} ms`);
    const hot = await db.query<{ n: number; rows: number }>(`select (select count(*) from search_hot_queries)::int as n, (select count(*) from search_hot_counts)::int as rows`);
    log(`  hot aggregate table: ${hot.rows[0]!.n} queries, ${hot.rows[0]!.rows} rows; index ${sizes.gin} (${(sizes.gin_bytes / sizes.docs).toFixed(0)} B/doc)`);
  } finally {
    await db.close();
    if (!KEEP) await admin(`drop database if exists ${DB_NAME}`);
    else log(`kept database ${DB_NAME}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
