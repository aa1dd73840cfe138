// One keyword search over call notes, cases, web requests and knowledge articles (DESIGN §5), and duplicate
// suggestions (并单) built on the same index.
//
// Rules:
// - agent, dispatcher, supervisor, admin see every call note, case and request (with caller numbers and contact
//   names); knowledge drafts only supervisor and admin (the editors).
// - department_staff see their own department's cases and requests (contact data included: they handle them) and
//   published knowledge; never call notes, never other departments' cases — not even as a count in a facet.
// - Counting (issue 13): the sample (1/512, then 1/32 of the documents) says about how many documents match. Below
//   exactThreshold the total and facets are counted exactly from the index (cheap then); above it they are the
//   sample's estimate, marked as such ("约 12 万条"), and the page comes from walking the newest-first index (cheap
//   then: about limit × documents / matches rows). `exact: true` counts exactly whatever it costs.
// - Order: newest first (default), or relevance: the terms in the title/category field first, then as whole words
//   (jieba) rather than bigrams of other words, newest first within each tier.
// - 4+ digits also match caller and contact numbers (any part of them).
import type { AuthUser } from '../auth/types';
import type { Db } from '../infra/db';
import type { Logger } from '../infra/logger';
import { BadRequestError, ForbiddenError, NotFoundError } from '../infra/errors';
import { normalizePhone } from '../http/schemas';
import { lex, MAX_TERM_LENGTH, MAX_TERMS, markHits, parseQuery, phoneWindows, snippet, termLexemes, tsAnd, tsOr, type ParsedQuery } from './query';
import { cached } from '../infra/cached';
import { createWordIndexer } from './indexer';
import type { Segmenter } from './words';
import { buildConditions, createSearchRepo, monthsTsquery, SAMPLE_RATE, DOC_TYPES, tiersOf, tierTsquery, type ComboRow, type Conditions, type Cursor, type DimFilter, type DocType, type PageRow, type RowFilter } from './repo';

export const TYPE_LABELS: Record<DocType, string> = { call: '通话小结', case: '工单', request: '网上求助', knowledge: '知识库' };
export const CHANNEL_LABELS: Record<string, string> = { phone: '电话', web: '网站', open311: 'Open311' };
export const STATUS_LABELS: Record<string, string> = {
  draft: '待派单',
  dispatched: '已派单',
  signed: '已签收',
  in_progress: '办理中',
  resolved: '已办结',
  callback: '回访中',
  closed: '已结案',
  returned: '已退单',
  extension_requested: '延期申请中',
  reopened: '重办',
  merged: '已并单',
  noted: '已记录',
  resolved_on_phone: '电话中已解决',
  published: '已发布',
};
/** Case statuses that no longer take duplicates. */
const FINISHED = ['resolved', 'callback', 'closed', 'merged'];
const STATUSES_OPEN = ['draft', 'dispatched', 'signed', 'in_progress', 'returned', 'extension_requested', 'reopened'];

interface DupProbe {
  text: string;
  phones: string[];
  callerId: number | null;
  at: Date;
  excludeId: number | null;
}

export interface DupOptions {
  days: number;
  limit: number;
  minSimilarity?: number;
}

export interface DuplicateItem {
  id: number;
  trackingNo: string;
  title: string;
  status: string;
  statusLabel: string;
  channel: string;
  departmentId: number | null;
  departmentName: string | null;
  createdAt: string;
  sameCaller: boolean;
  similarity: number;
}

export interface SearchInput {
  q: string;
  types?: string;
  category?: number;
  department?: number;
  status?: string;
  channel?: string;
  from?: string;
  to?: string;
  callerNumber?: string;
  limit: number;
  cursor?: string;
  /** newest (default) or relevance. */
  sort?: 'newest' | 'relevance';
  /** Count exactly even when that means visiting every match. */
  exact?: boolean;
}

export interface FacetValue {
  key: string;
  label: string;
  count: number;
}

export interface SearchItem {
  type: DocType;
  id: string;
  title: string;
  titleHtml: string;
  snippet: string;
  createdAt: string;
  status: string | null;
  statusLabel: string | null;
  channel: string | null;
  categoryId: number | null;
  categoryName: string | null;
  departmentId: number | null;
  departmentName: string | null;
  trackingNo: string | null;
  callId: string | null;
  callerNumber: string | null;
  contactName: string | null;
}

export interface SearchResult {
  items: SearchItem[];
  /** Exact, or the sample's estimate rounded to two significant digits (totalExact false). */
  total: number;
  totalExact: boolean;
  /** What to show: 共 1,234 条 / 约 12 万条. */
  totalLabel: string;
  /** 'index': counted from the index in this request; 'sample': estimated from the sample (facets too). */
  countSource: 'index' | 'sample';
  sort: 'newest' | 'relevance';
  facets: { type: FacetValue[]; category: FacetValue[]; department: FacetValue[]; status: FacetValue[]; channel: FacetValue[] };
  /**
   * False only when an estimate's check for rare facet values (absent from the sample) ran out of time: a value
   * with a few matches may then be missing from the facets (never from the results).
   */
  facetsComplete: boolean;
  nextCursor: string | null;
}

type Dim = keyof SearchResult['facets'];
const DIMS: Dim[] = ['type', 'category', 'department', 'status', 'channel'];
const DIM_PREFIX: Record<Dim, string> = { type: 't:', category: 'c:', department: 'd:', status: 's:', channel: 'ch:' };
const DIM_COLUMN = { type: 'doc_type', category: 'category_id', department: 'department_id', status: 'status', channel: 'channel' } as const;
/** Counts per facet value (key as in FacetValue) found outside the estimate's sample level. */
type ExtraFacets = Record<Dim, Map<string, number>>;

const FULL_ACCESS = new Set(['agent', 'dispatcher', 'supervisor', 'admin']);
const KNOWLEDGE_EDITORS = new Set(['supervisor', 'admin']);

function list(s: string | undefined): string[] | undefined {
  if (s === undefined) return undefined;
  const v = [...new Set(s.split(',').map((x) => x.trim()).filter(Boolean))];
  return v.length ? v : undefined;
}

function encodeCursor(c: Cursor, relevance: boolean): string {
  return Buffer.from(JSON.stringify(relevance ? [c.ts, c.id, c.tier] : [c.ts, c.id]), 'utf8').toString('base64url');
}

function decodeCursor(c: string | undefined, relevance: boolean): Cursor | null {
  if (c === undefined) return null;
  try {
    const v: unknown = JSON.parse(Buffer.from(c, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === (relevance ? 3 : 2) && typeof v[0] === 'string' && Number.isSafeInteger(v[1]) && !Number.isNaN(Date.parse(v[0]))) {
      const tier = relevance ? v[2] : 0;
      if (Number.isInteger(tier) && tier >= 0 && tier <= 3) return { ts: v[0], id: v[1] as number, tier: tier as number };
    }
  } catch {
    // fall through
  }
  throw new BadRequestError('分页游标无效，请从第一页重新查询', 'invalid_cursor');
}

/** Two significant digits. */
function round2(n: number): number {
  if (n < 100) return Math.round(n);
  const p = Math.pow(10, Math.floor(Math.log10(n)) - 1);
  return Math.round(n / p) * p;
}

export function totalLabel(n: number, exact: boolean): string {
  if (exact) return `共 ${n.toLocaleString('en-US')} 条`;
  if (n >= 10_000) return `约 ${Number((n / 10_000).toPrecision(2))} 万条`;
  return `约 ${n.toLocaleString('en-US')} 条`;
}

export function accessOf(user: AuthUser): DimFilter['access'] {
  if (user.role === 'department_staff') {
    if (user.departmentId === null) throw new ForbiddenError('账号未绑定部门，无法查询');
    return { kind: 'department', departmentId: user.departmentId };
  }
  if (!FULL_ACCESS.has(user.role)) throw new ForbiddenError();
  return KNOWLEDGE_EDITORS.has(user.role) ? { kind: 'all' } : { kind: 'published_knowledge_only' };
}

export function validateQuery(q: string, words?: (term: string) => string[]): ParsedQuery {
  const parsed = parseQuery(q, words);
  if (!parsed.terms.length) throw new BadRequestError('请输入查询关键词', 'validation_failed');
  if (parsed.terms.length > MAX_TERMS) throw new BadRequestError(`关键词最多 ${MAX_TERMS} 个`, 'validation_failed');
  if (parsed.terms.some((t) => t.length > MAX_TERM_LENGTH)) {
    throw new BadRequestError(`单个关键词不能超过 ${MAX_TERM_LENGTH} 个字符`, 'validation_failed');
  }
  return parsed;
}

/** Rows of a newest-first walk per heap page read (rows are stored about in time order, ~8 to a page). */
const WALK_ROWS_PER_PAGE = 4;

/** Documents of a facet value (over the whole index) below which counting its matches exactly is cheap. */
const CHEAP_VALUE_DOCS = 2_000;

/** Sample rows that make an estimate good enough to stop at a coarse level (about ±7 %). */
const ENOUGH_SAMPLE_ROWS = 200;

export function createSearchService(deps: {
  db: Db;
  logger?: Logger;
  exactThreshold?: number;
  /** Time allowed for counting rare facet values exactly under an estimate (ms). */
  rareFacetMs?: number;
  /**
   * A newest-first walk expected to check fewer rows than this is always taken; above, whichever of the walk and the
   * newest months reads fewer rows (0: never walk, for tests).
   */
  walkRows?: number;
  wordIndexer?: { intervalMs?: number; batch?: number };
}) {
  const repo = createSearchRepo(deps.db);
  const exactThreshold = deps.exactThreshold ?? 2_000;
  const rareFacetMs = deps.rareFacetMs ?? 20;
  const walkRows = deps.walkRows ?? 500;
  const indexer = createWordIndexer({ db: deps.db, logger: deps.logger, ...deps.wordIndexer });
  let segmenter: Segmenter | null = null;
  void indexer.segmenter().then((s) => (segmenter = s), () => undefined);

  async function parse(text: string): Promise<ParsedQuery> {
    const seg = segmenter ?? (segmenter = await indexer.segmenter());
    return validateQuery(text, (t) => seg.cut(t));
  }

  async function dimsOf(user: AuthUser, input: SearchInput): Promise<DimFilter> {
    const types = list(input.types);
    for (const t of types ?? []) {
      if (!(DOC_TYPES as readonly string[]).includes(t)) {
        throw new BadRequestError(`字段 types 取值无效，可选值：${DOC_TYPES.join('、')}`, 'validation_failed');
      }
    }
    const channels = list(input.channel);
    for (const c of channels ?? []) {
      if (!CHANNEL_LABELS[c]) throw new BadRequestError('字段 channel 取值无效，可选值：phone、web、open311', 'validation_failed');
    }
    let categoryIds: number[] | undefined;
    if (input.category !== undefined) {
      categoryIds = await repo.categoryWithChildren(input.category);
      if (!categoryIds.length) categoryIds = [input.category];
    }
    return {
      types: types as DocType[] | undefined,
      categoryIds,
      departmentId: input.department,
      statuses: list(input.status),
      channels,
      access: accessOf(user),
    };
  }

  function rowsOf(input: SearchInput): RowFilter {
    const r: RowFilter = {};
    if (input.from) r.from = input.from;
    if (input.to) r.to = input.to;
    if (input.from && input.to && Date.parse(input.from) >= Date.parse(input.to)) {
      throw new BadRequestError('开始时间必须早于结束时间', 'validation_failed');
    }
    if (input.callerNumber) r.callerNumber = normalizePhone(input.callerNumber);
    return r;
  }

  // Category and department names (small tables): read at most every 30 s, and again at once when an id is not in
  // them (a category added since). A renamed one shows its former name for up to 30 s.
  interface Directory { cat: Map<number, string>; dep: Map<number, string> }
  const names = cached<Directory>(30_000, async () => {
    const rows = await repo.directory();
    return { cat: new Map(rows.filter((r) => r.kind === 'c').map((r) => [r.id, r.name])), dep: new Map(rows.filter((r) => r.kind === 'd').map((r) => [r.id, r.name])) };
  });
  async function directory(categoryIds: Iterable<number> = [], departmentIds: Iterable<number> = []): Promise<Directory> {
    const d = await names.get();
    for (const id of categoryIds) if (!d.cat.has(id)) return names.reload();
    for (const id of departmentIds) if (!d.dep.has(id)) return names.reload();
    return d;
  }

  async function facetsOf(combos: ComboRow[], scale = 1, extra?: ExtraFacets): Promise<{ total: number; facets: SearchResult['facets'] }> {
    const sums = { type: new Map<string, number>(), category: new Map<number, number>(), department: new Map<number, number>(), status: new Map<string, number>(), channel: new Map<string, number>() };
    let total = 0;
    const add = <K>(m: Map<K, number>, k: K | null, n: number) => {
      if (k !== null) m.set(k, (m.get(k) ?? 0) + n);
    };
    for (const c of combos) {
      total += c.n;
      add(sums.type, c.doc_type, c.n);
      add(sums.category, c.category_id, c.n);
      add(sums.department, c.department_id, c.n);
      add(sums.status, c.status, c.n);
      add(sums.channel, c.channel, c.n);
    }
    const extraIds = (m: Map<string, number> | undefined) => [...(m?.keys() ?? [])].map(Number);
    const { cat, dep } = await directory([...sums.category.keys(), ...extraIds(extra?.category)], [...sums.department.keys(), ...extraIds(extra?.department)]);
    const labels: Record<Dim, (k: string) => string> = {
      type: (k) => TYPE_LABELS[k as DocType] ?? k,
      category: (k) => cat.get(Number(k)) ?? k,
      department: (k) => dep.get(Number(k)) ?? k,
      status: (k) => STATUS_LABELS[k] ?? k,
      channel: (k) => CHANNEL_LABELS[k] ?? k,
    };
    const facet = (dim: Dim, m: Map<string | number, number>): FacetValue[] => {
      const vals = [...m].map(([k, n]) => ({ key: String(k), label: labels[dim](String(k)), count: scale === 1 ? n : round2(n * scale) }));
      // Rare values the sample level missed: their counts from a finer level or exact (already scaled).
      for (const [k, n] of extra?.[dim] ?? []) if (!m.has(dim === 'category' || dim === 'department' ? Number(k) : k)) vals.push({ key: k, label: labels[dim](k), count: n });
      return vals.sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
    };
    return {
      total: scale === 1 ? total : round2(total * scale),
      facets: {
        type: facet('type', sums.type),
        category: facet('category', sums.category),
        department: facet('department', sums.department),
        status: facet('status', sums.status),
        channel: facet('channel', sums.channel),
      },
    };
  }

  async function toItems(rows: PageRow[], q: ParsedQuery): Promise<SearchItem[]> {
    const { cat, dep } = await directory(
      rows.map((r) => r.category_id).filter((x): x is number => x !== null),
      rows.map((r) => r.department_id).filter((x): x is number => x !== null),
    );
    return rows.map((r) => ({
      type: r.doc_type,
      id: r.doc_type === 'call' ? r.call_id ?? String(r.src_id) : String(r.src_id),
      title: r.title,
      titleHtml: markHits(r.title, q.terms),
      snippet: snippet(r.body, q.terms),
      createdAt: r.created_at.toISOString(),
      status: r.status,
      statusLabel: r.status ? STATUS_LABELS[r.status] ?? r.status : null,
      channel: r.channel,
      categoryId: r.category_id,
      categoryName: r.category_id !== null ? cat.get(r.category_id) ?? null : null,
      departmentId: r.department_id,
      departmentName: r.department_id !== null ? dep.get(r.department_id) ?? null : null,
      trackingNo: r.tracking_no,
      callId: r.call_id,
      callerNumber: r.caller_number,
      contactName: r.contact_name,
    }));
  }

  /**
   * The sample's estimate. Level 4 (1 in 2048, a few hundred rows at most) first; its count predicts how many rows
   * each finer level would give, so the second query goes straight to the coarsest level expected to hold enough
   * rows (about ±7 %) — no step reads more than about a thousand rows, however common the keyword. Null when the
   * finest level says fewer than exactThreshold: then counting exactly is cheap.
   */
  async function estimate(c: Conditions, relevance: boolean): Promise<{ rows: (ComboRow & { tier: number })[]; scale: number } | null> {
    const { level, rows } = await repo.estimate(c, relevance, ENOUGH_SAMPLE_ROWS);
    const n = rows.reduce((a, r) => a + r.n, 0) * SAMPLE_RATE[level];
    return level > 1 || n >= exactThreshold ? { rows, scale: SAMPLE_RATE[level] } : null;
  }

  /**
   * Facet values the estimate's sample level did not see (a category with 3 matches among 100,000 is in no sample):
   * of every value a facet can take under the filters and the role's access, those not seen and rare overall are
   * counted exactly in the index with an OR of their lexemes (the index then reads only their documents), within
   * rareFacetMs — past it, or when a value common overall was not seen, the facets are marked incomplete rather
   * than delaying the answer.
   */
  async function rareFacets(c: Conditions, est: { rows: ComboRow[]; scale: number }): Promise<{ extra: ExtraFacets; complete: boolean }> {
    const extra: ExtraFacets = { type: new Map(), category: new Map(), department: new Map(), status: new Map(), channel: new Map() };
    const d = c.dims;
    const dir = await directory();
    const u = { categories: [...dir.cat.keys()], departments: [...dir.dep.keys()] };
    const own = d.access.kind === 'department' ? d.access.departmentId : undefined;
    const universe: Record<Dim, string[]> = {
      type: d.types ?? (own !== undefined ? ['case', 'request', 'knowledge'] : [...DOC_TYPES]),
      category: (d.categoryIds ?? u.categories).map(String),
      department: (d.departmentId !== undefined ? [d.departmentId] : own !== undefined ? [own] : u.departments).map(String),
      status: d.statuses ?? Object.keys(STATUS_LABELS),
      channel: d.channels ?? Object.keys(CHANNEL_LABELS),
    };
    const seen = (rows: ComboRow[], dim: Dim) => new Set(rows.map((r) => r[DIM_COLUMN[dim]]).filter((v) => v !== null).map(String));
    let missing = DIMS.map((dim) => {
      const s = seen(est.rows, dim);
      return { dim, keys: new Set(universe[dim].filter((k) => !s.has(k))) };
    });
    const lexemes = () => missing.flatMap(({ dim, keys }) => [...keys].map((k) => lex(DIM_PREFIX[dim] + k)));
    const take = (rows: ComboRow[], scale: number) => {
      for (const m of missing) {
        for (const r of rows) {
          const v = r[DIM_COLUMN[m.dim]];
          if (v !== null && m.keys.has(String(v))) extra[m.dim].set(String(v), (extra[m.dim].get(String(v)) ?? 0) + r.n * scale);
        }
      }
      for (const m of missing) for (const k of extra[m.dim].keys()) m.keys.delete(k);
      missing = missing.filter((m) => m.keys.size);
    };
    if (!missing.length) return { extra, complete: true };
    // Counting exactly is cheap only for values that are rare overall (the index then reads only their few
    // documents). A value common overall but missing from the sample level of these matches has few of them (about
    // fewer than 3 × the level's rate, at 95 %): it is left out and the facets are marked incomplete. (Asking the
    // 1-in-32 level for such values costs as much as an estimate at that level: 50–200 ms for common terms.)
    const common = await valueTotals();
    let complete = true;
    missing = missing
      .map(({ dim, keys }) => {
        const cheap = [...keys].filter((k) => (common[dim].get(k) ?? 0) <= CHEAP_VALUE_DOCS);
        if (cheap.length < keys.size) complete = false;
        return { dim, keys: new Set(cheap) };
      })
      .filter((m) => m.keys.size);
    if (!missing.length) return { extra, complete };
    const exact = await repo.rare(c, tsOr(lexemes())!, exactThreshold, rareFacetMs);
    if (!exact) return { extra, complete: false };
    take(exact, 1);
    return { extra, complete };
  }

  // Documents per facet value over the whole index, from the 1-in-128 sample level, refreshed every 10 minutes.
  const totals = cached<Record<Dim, Map<string, number>>>(600_000, async () => {
    const out: Record<Dim, Map<string, number>> = { type: new Map(), category: new Map(), department: new Map(), status: new Map(), channel: new Map() };
    for (const r of await repo.sampleTotals(2)) {
      for (const dim of DIMS) {
        const v = r[DIM_COLUMN[dim]];
        if (v !== null) out[dim].set(String(v), (out[dim].get(String(v)) ?? 0) + r.n * SAMPLE_RATE[2]);
      }
    }
    return out;
  });
  const valueTotals = totals.get;

  // The documents' time span and count, refreshed at most once a minute (only used to choose how to find a page).
  const span = cached(60_000, () => repo.span()).get;

  const monthOf = (d: Date) => d.getUTCFullYear() * 12 + d.getUTCMonth();
  const monthKey = (m: number) => String(Math.floor(m / 12) * 100 + (m % 12) + 1);

  /**
   * Newest-first page ids of conditions with about `expected` matches. Walking the newest-first index checks about
   * want × documents / matches rows: cheap for common terms. For middling ones, the newest months are asked through
   * the index instead (as many months as should hold twice the page, then older windows of doubling size): a few
   * hundred rows read instead of thousands. Few matches: all of them through the index.
   */
  async function newest(c: Conditions, extra: string | null, after: { ts: string; id: number } | null, want: number, expected: number): Promise<number[]> {
    if (expected < exactThreshold) return repo.tierPage(c, extra, after, want);
    const s = await span();
    if (!s.first || !s.last) return repo.walk(c, extra, after, want);
    // Months that can hold matches: the documents' span, narrowed by the time filter.
    const spanFirst = monthOf(s.first);
    // The last month with documents (a minute ago); the first window also asks the months after it.
    const spanLast = monthOf(s.last);
    const first = c.rows.from ? Math.max(spanFirst, monthOf(new Date(c.rows.from))) : spanFirst;
    const last = c.rows.to ? Math.min(spanLast, monthOf(new Date(Date.parse(c.rows.to) - 1))) : spanLast;
    const months = Math.max(1, last - first + 1);
    // Pages each way would read: the walk checks want × documents / matches rows (of the time range) in time order,
    // several to a page; the newest months hold at least a month of matches, each on its own page.
    const docsInRange = (s.docs * months) / Math.max(1, spanLast - spanFirst + 1);
    const walkChecks = (want * docsInRange) / Math.max(1, expected);
    const windowReads = Math.max(2 * want, expected / months);
    if (walkChecks < walkRows || (walkRows > 0 && walkChecks / WALK_ROWS_PER_PAGE <= windowReads)) return repo.walk(c, extra, after, want);
    let k = Math.max(1, Math.ceil((2 * want * months) / Math.max(1, expected)));
    // The newest window starts at the last month that can hold matches, or the cursor's month.
    let m = after ? Math.min(last, monthOf(new Date(after.ts))) : last;
    const out: number[] = [];
    // Without a time filter the first window also takes the next months (documents written since the span was read,
    // or dated ahead; no cost when there are none).
    let ahead = after || c.rows.to ? 0 : 12;
    while (out.length < want && m >= first) {
      const ms: string[] = [];
      for (; ahead > 0; ahead--) ms.push(monthKey(m + ahead));
      for (let i = 0; i < k && m - i >= first; i++) ms.push(monthKey(m - i));
      out.push(...(await repo.window(c, extra, ms, after, want - out.length)));
      m -= k;
      k *= 2;
    }
    // Documents older than the first month known (up to a minute ago: back-dated writes) are not missed: the walk
    // from there finds them, or the end of the index (or of the time filter) at once.
    if (out.length < want) {
      const start = new Date(Date.UTC(Math.floor(first / 12), first % 12, 1)).toISOString();
      const from = after && Date.parse(after.ts) < Date.parse(start) ? after : { ts: start, id: 0 };
      out.push(...(await repo.walk(c, extra, from, want - out.length)));
    }
    return out;
  }


  /** A page when there are many matches: tier by tier, walking the newest-first index where a tier is large. */
  async function pageOfMany(c: Conditions, est: { rows: (ComboRow & { tier: number })[]; scale: number }, relevance: boolean, after: Cursor | null, want: number) {
    if (!relevance) return (await newest(c, null, after, want, est.rows.reduce((a, r) => a + r.n, 0) * est.scale)).map((id) => ({ id, tier: 0 }));
    const perTier = new Map<number, number>();
    for (const r of est.rows) perTier.set(r.tier, (perTier.get(r.tier) ?? 0) + r.n * est.scale);
    const out: { id: number; tier: number }[] = [];
    for (const tier of tiersOf(c.q)) {
      if (out.length >= want) break;
      if (after && tier > after.tier) continue;
      const pos = after && tier === after.tier ? { ts: after.ts, id: after.id } : null;
      const extra = tierTsquery(c.q, tier);
      const n = want - out.length;
      const ids = await newest(c, extra, pos, n, perTier.get(tier) ?? 0);
      out.push(...ids.map((id) => ({ id, tier })));
    }
    return out;
  }

  async function search(user: AuthUser, input: SearchInput): Promise<SearchResult> {
    const q = await parse(input.q);
    const relevance = input.sort === 'relevance';
    const dims = await dimsOf(user, input);
    const rows = rowsOf(input);
    const after = decodeCursor(input.cursor, relevance);
    const c = buildConditions(q, dims, rows);
    const est = input.exact ? null : await estimate(c, relevance);
    // Facet names and the page's rows are read side by side (two pooled connections).
    const [page, counted, details] = est
      ? await Promise.all([
          pageOfMany(c, est, relevance, after, input.limit + 1),
          rareFacets(c, est).then(async (r) => ({ ...(await facetsOf(est.rows, est.scale, r.extra)), complete: r.complete })),
        ]).then(async ([p, f]) => [p, f, await repo.details(p.map((x) => x.id))] as const)
      : await repo.exact(c, relevance, after, input.limit + 1).then(
          async (ex) => [ex.page, ...(await Promise.all([facetsOf(ex.combos).then((f) => ({ ...f, complete: true })), repo.details(ex.page.map((x) => x.id))]))] as const,
        );
    const byId = new Map(details.map((r) => [r.id, r]));
    const pageRows = page.map((p) => ({ row: byId.get(p.id), tier: p.tier })).filter((x): x is { row: PageRow; tier: number } => !!x.row);
    const more = pageRows.length > input.limit;
    const shown = more ? pageRows.slice(0, input.limit) : pageRows;
    const last = shown[shown.length - 1];
    return {
      items: await toItems(shown.map((x) => x.row), q),
      total: counted.total,
      totalExact: !est,
      totalLabel: totalLabel(counted.total, !est),
      countSource: est ? 'sample' : 'index',
      sort: relevance ? 'relevance' : 'newest',
      facets: counted.facets,
      facetsComplete: counted.complete,
      nextCursor: more && last ? encodeCursor({ ts: last.row.cursor_ts, id: last.row.id, tier: last.tier }, relevance) : null,
    };
  }

  /**
   * Open cases that may be the same matter (并单) as a probe (an existing case, or one about to be created): the same
   * caller (caller record, or any of the numbers as caller/contact number), or similar text — the share of the
   * probe's topic words (jieba, stop words left out) the other case has; for cases the word indexer has not reached
   * yet (seconds old), the share of the probe's bigrams — created within `days` before or after.
   */
  async function similar(probe: DupProbe, opts: DupOptions): Promise<DuplicateItem[]> {
    const seg = segmenter ?? (segmenter = await indexer.segmenter());
    const words = seg.indexWords(probe.text).filter((w) => seg.isTopic(w));
    const bigrams = [...new Set(termLexemes(probe.text).filter((l) => !/[a-z0-9]/.test(l)))];
    const minSim = opts.minSimilarity ?? 0.3;
    const lo = new Date(probe.at.getTime() - opts.days * 86_400_000);
    const hi = new Date(probe.at.getTime() + opts.days * 86_400_000);
    const open = STATUSES_OPEN.map((st) => lex(`s:${st}`));
    const base = tsAnd(tsOr([lex('t:case'), lex('t:request')]), tsOr(open), monthsTsquery({ from: lo.toISOString(), to: hi.toISOString() }));
    const phones = [...new Set(probe.phones.map((p) => p.replace(/\D/g, '')).filter((p) => p.length >= 7))];
    const byWords = words.length ? tsAnd(base, tsOr(words.map((w) => lex(`w:${w}`)))) : null;
    const byPhone = phones.length ? tsAnd(base, tsOr(phones.map((p) => phoneWindows(p)))) : null;
    const { rows } = await deps.db.query<{ id: number; words: string[] | null; body: string; phones: string; same: boolean }>(
      `with c as (
         (select src_id, words, body, phones from search_docs
           where $1::tsquery is not null and tsv @@ $1::tsquery and created_at between $3 and $4 order by created_at desc limit 300)
         union
         (select src_id, words, body, phones from search_docs
           where $2::tsquery is not null and tsv @@ $2::tsquery and created_at between $3 and $4 order by created_at desc limit 100)
         union
         (select d.src_id, d.words, d.body, d.phones from search_docs d
           where d.words is null and d.doc_type in ('case', 'request') and d.status <> all($5::text[]) and d.created_at between $3 and $4
           limit 200)
         union
         (select s.id, d.words, d.body, d.phones from cases s join search_docs d on d.src = 'case' and d.src_id = s.id
           where $6::int is not null and s.caller_id = $6 and s.status <> all($5::text[]) and s.created_at between $3 and $4 limit 100)
       )
       select src_id as id, words, body, phones, ($6::int is not null and exists (select 1 from cases x where x.id = c.src_id and x.caller_id = $6)) as same
         from c where src_id is distinct from $7`,
      [byWords, byPhone, lo, hi, FINISHED, probe.callerId, probe.excludeId],
    );
    const scored = new Map<number, { sameCaller: boolean; similarity: number }>();
    for (const r of rows) {
      const docPhones = r.phones.split(/\s+/).filter(Boolean);
      const sameCaller = r.same || phones.some((p) => docPhones.includes(p));
      let similarity = 0;
      if (r.words && words.length) {
        const w = new Set(r.words);
        similarity = words.filter((x) => w.has(x)).length / words.length;
      } else if (!r.words && bigrams.length) {
        const b = new Set(termLexemes(r.body));
        similarity = bigrams.filter((x) => b.has(x)).length / bigrams.length;
      }
      if (!sameCaller && similarity < minSim) continue;
      const prev = scored.get(r.id);
      scored.set(r.id, { sameCaller: sameCaller || !!prev?.sameCaller, similarity: Math.max(similarity, prev?.similarity ?? 0) });
    }
    if (!scored.size) return [];
    const { rows: found } = await deps.db.query<{
      id: number; tracking_no: string; title: string; status: string; channel: string; department_id: number | null;
      department_name: string | null; created_at: Date;
    }>(
      `select c.id, c.tracking_no, c.title, c.status, c.channel, c.department_id, dp.name as department_name, c.created_at
         from cases c left join departments dp on dp.id = c.department_id
        where c.id = any($1::bigint[]) and c.status <> all($2::text[])`,
      [[...scored.keys()], FINISHED],
    );
    return found
      .map((r) => ({
        id: r.id,
        trackingNo: r.tracking_no,
        title: r.title,
        status: r.status,
        statusLabel: STATUS_LABELS[r.status] ?? r.status,
        channel: r.channel,
        departmentId: r.department_id,
        departmentName: r.department_name,
        createdAt: r.created_at.toISOString(),
        sameCaller: scored.get(r.id)!.sameCaller,
        similarity: Math.round(scored.get(r.id)!.similarity * 100) / 100,
      }))
      .sort((a, b) => Number(b.sameCaller) - Number(a.sameCaller) || b.similarity - a.similarity || b.createdAt.localeCompare(a.createdAt))
      .slice(0, opts.limit);
  }

  /** 并单 suggestions for an existing case (the dispatcher's queue). */
  async function duplicates(user: AuthUser, caseId: number, opts: DupOptions) {
    if (!FULL_ACCESS.has(user.role)) throw new ForbiddenError();
    const { rows } = await deps.db.query<{ text: string; caller_id: number | null; phones: string[]; created_at: Date }>(
      `select c.title || ' ' || c.description as text, c.caller_id, c.created_at,
              array_remove(array[c.contact_phone, (select number from callers where id = c.caller_id)], null) as phones
         from cases c where c.id = $1`,
      [caseId],
    );
    const base = rows[0];
    if (!base) throw new NotFoundError('工单不存在', 'case_not_found');
    const items = await similar({ text: base.text, phones: base.phones, callerId: base.caller_id, at: base.created_at, excludeId: caseId }, opts);
    return { caseId, days: opts.days, items };
  }

  /** 并单 suggestions while a case is being written (before it exists): its text, phone numbers and call. */
  async function duplicatesFor(user: AuthUser, input: { title?: string; description: string; contactPhone?: string; callId?: string }, opts: DupOptions) {
    if (!FULL_ACCESS.has(user.role)) throw new ForbiddenError();
    const phones = input.contactPhone ? [normalizePhone(input.contactPhone)] : [];
    let callerId: number | null = null;
    if (input.callId) {
      const { rows } = await deps.db.query<{ caller_number: string | null; caller_id: number | null }>(
        `select k.caller_number, (select id from callers where number = k.caller_number) as caller_id from calls k where k.id = $1`,
        [input.callId],
      );
      if (!rows[0]) throw new NotFoundError('通话记录不存在', 'call_not_found');
      if (rows[0].caller_number) phones.push(rows[0].caller_number);
      callerId = rows[0].caller_id;
    }
    const text = `${input.title ?? ''} ${input.description}`.trim();
    if (!text) throw new BadRequestError('请填写诉求内容(description)', 'validation_failed');
    const items = await similar({ text, phones, callerId, at: new Date(), excludeId: null }, opts);
    return { days: opts.days, items };
  }

  /** For a page of the dispatcher's queue: how many suggestions each case has, and the best one. */
  async function duplicateCounts(user: AuthUser, caseIds: number[], opts: DupOptions) {
    if (!FULL_ACCESS.has(user.role)) throw new ForbiddenError();
    const out = [];
    for (const id of [...new Set(caseIds)]) {
      try {
        const r = await duplicates(user, id, opts);
        out.push({ caseId: id, count: r.items.length, best: r.items[0] ?? null });
      } catch (err) {
        if (err instanceof NotFoundError) out.push({ caseId: id, count: 0, best: null });
        else throw err;
      }
    }
    return { days: opts.days, items: out };
  }

  /**
   * What a process loads once (jieba's dictionary, category and department names, the documents' time span and the
   * facet values' totals), done at start so that the first search does not wait for it.
   */
  async function warm(): Promise<void> {
    await Promise.all([parse('预热'), directory(), span(), valueTotals()]);
  }

  return { search, duplicates, duplicatesFor, duplicateCounts, indexer, parse, warm };
}

export type SearchService = ReturnType<typeof createSearchService>;
