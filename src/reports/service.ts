// KPIs for a time range and granularity (DESIGN §6, issue 5): call figures per period and in total, per agent,
// the post-call survey, case figures per department, and rising topics. JSON, or CSV for Excel.
import { BadRequestError } from '../infra/errors';
import type { AgentAggRow, CallAggRow, DeptAggRow, Granularity, ReportsRepo, TopicRow } from './repo';
import { NUMERIC_WORD, STOP_WORDS } from '../search/lexicon';

export interface CallFigures {
  offered: number;
  answered: number;
  abandoned: number;
  failed: number;
  callbackRequested: number;
  afterHours: number;
  answeredWithinSl: number;
  answerRate: number | null;
  abandonRate: number | null;
  serviceLevel: number | null;
  avgWaitMs: number | null;
  avgAnswerWaitMs: number | null;
  maxWaitMs: number | null;
  avgTalkMs: number | null;
  avgHandleMs: number | null;
}

export interface KpiReport {
  range: { from: string; to: string; timezone: string; granularity: Granularity; serviceLevelSec: number };
  totals: CallFigures;
  periods: (CallFigures & { periodStart: string; label: string })[];
  agents: {
    agentId: number;
    extension: string;
    displayName: string;
    answered: number;
    avgTalkMs: number | null;
    totalTalkMs: number;
    offers: number;
    missedOffers: number;
    surveyRated: number;
    surveySatisfied: number;
  }[];
  survey: { rated: number; satisfied: number; basicallySatisfied: number; unsatisfied: number; satisfactionRate: number | null } | null;
  cases: {
    dispatched: number;
    resolved: number;
    resolvedOnTime: number;
    onTimeRate: number | null;
    returned: number;
    extensions: number;
    callbacks: number;
    satisfied: number;
    basicallySatisfied: number;
    unsatisfied: number;
    satisfactionRate: number | null;
    departments: {
      code: string;
      name: string;
      dispatched: number;
      resolved: number;
      resolvedOnTime: number;
      onTimeRate: number | null;
      returned: number;
      extensions: number;
      callbacks: number;
      satisfactionRate: number | null;
    }[];
  } | null;
  hotTopics: { term: string; count: number; previous: number; change: number; trend: Trend }[];
}

const MAX_BUCKETS: Record<Granularity, { n: number; label: string }> = {
  hour: { n: 24 * 93, label: '按小时统计时范围不能超过 93 天' },
  day: { n: 3700, label: '按天统计时范围不能超过 10 年' },
  month: { n: 600, label: '按月统计时范围不能超过 50 年' },
};

export type Trend = 'new' | 'up' | 'flat' | 'down';
/** Trend of a topic against the previous period: new (absent before), up/down by more than 10 %, else flat. */
export const TREND_LABELS: Record<Trend, string> = { new: '新出现', up: '上升', flat: '持平', down: '下降' };

export function trendOf(count: number, previous: number): Trend {
  if (previous === 0) return 'new';
  if (count > previous * 1.1) return 'up';
  if (count < previous * 0.9) return 'down';
  return 'flat';
}

export function ratio(n: number, d: number): number | null {
  return d > 0 ? Math.round((n / d) * 10000) / 10000 : null;
}

function figures(r: CallAggRow): CallFigures {
  return {
    offered: r.offered,
    answered: r.answered,
    abandoned: r.abandoned,
    failed: r.failed,
    callbackRequested: r.callback_requested,
    afterHours: r.after_hours,
    answeredWithinSl: r.answered_in_sl,
    answerRate: ratio(r.answered, r.offered),
    abandonRate: ratio(r.abandoned, r.offered),
    serviceLevel: ratio(r.answered_in_sl, r.offered),
    avgWaitMs: r.avg_wait_ms,
    avgAnswerWaitMs: r.avg_answer_wait_ms,
    maxWaitMs: r.max_wait_ms,
    avgTalkMs: r.avg_talk_ms,
    // Wrap-up is not recorded per call (it is the agent's ACD state), so handle time is talk time.
    avgHandleMs: r.avg_talk_ms,
  };
}

export interface KpiQuery {
  from?: string;
  to?: string;
  granularity: Granularity;
  serviceLevelSec?: number;
  topics?: number;
}

export class ReportsService {
  constructor(
    private readonly repo: ReportsRepo,
    private readonly settings: { timezone: string; serviceLevelSec: number },
  ) {}

  async kpi(q: KpiQuery): Promise<KpiReport> {
    const tz = this.settings.timezone;
    const slSec = q.serviceLevelSec ?? this.settings.serviceLevelSec;
    const { from, to } = await this.repo.bounds(q.from, q.to, tz).catch((err: unknown) => {
      if ((err as { code?: string }).code?.startsWith('22')) throw new BadRequestError('时间格式不正确，应为 ISO 8601 日期时间或 YYYY-MM-DD 日期', 'invalid_range');
      throw err;
    });
    if (!(from.getTime() < to.getTime())) throw new BadRequestError('开始时间必须早于结束时间', 'invalid_range');
    const max = MAX_BUCKETS[q.granularity];
    if ((await this.repo.bucketCount(from, to, tz, q.granularity)) > max.n) throw new BadRequestError(`时间范围过大：${max.label}`, 'range_too_large');

    const feat = await this.repo.features();
    const slMs = slSec * 1000;
    const [periods, totals, agents, survey, depts, topics] = await Promise.all([
      this.repo.periods(from, to, tz, q.granularity, slMs),
      this.repo.totals(from, to, slMs),
      this.repo.agents(from, to, feat.survey),
      feat.survey ? this.repo.survey(from, to) : Promise.resolve(null),
      feat.cases ? this.repo.departments(from, to) : Promise.resolve(null),
      feat.search ? this.repo.topics(from, to, tz, 2, STOP_WORDS, NUMERIC_WORD.source, q.topics ?? 20) : Promise.resolve([] as TopicRow[]),
    ]);

    return {
      range: { from: from.toISOString(), to: to.toISOString(), timezone: tz, granularity: q.granularity, serviceLevelSec: slSec },
      totals: figures(totals),
      periods: periods.map((p) => ({ periodStart: p.period_start.toISOString(), label: p.label, ...figures(p) })),
      agents: agents.map((a: AgentAggRow) => ({
        agentId: a.agent_id,
        extension: a.extension,
        displayName: a.display_name,
        answered: a.answered,
        avgTalkMs: a.avg_talk_ms,
        totalTalkMs: a.total_talk_ms ?? 0,
        offers: a.offers,
        missedOffers: a.missed_offers,
        surveyRated: a.survey_rated,
        surveySatisfied: a.survey_satisfied,
      })),
      survey: survey ? surveyFigures(survey) : null,
      cases: depts ? caseFigures(depts) : null,
      hotTopics: topics.map((t) => ({ term: t.term, count: t.count, previous: t.previous, change: t.count - t.previous, trend: trendOf(t.count, t.previous) })),
    };
  }
}

/** Survey digits: 1 满意, 2 基本满意, 3 不满意; satisfaction rate = (1 + 2) / rated. */
function surveyFigures(rows: { score: number; n: number }[]): NonNullable<KpiReport['survey']> {
  const n = (s: number) => rows.find((r) => r.score === s)?.n ?? 0;
  const rated = rows.reduce((a, r) => a + r.n, 0);
  return { rated, satisfied: n(1), basicallySatisfied: n(2), unsatisfied: n(3), satisfactionRate: ratio(n(1) + n(2), rated) };
}

function caseFigures(rows: DeptAggRow[]): NonNullable<KpiReport['cases']> {
  const sum = (k: keyof DeptAggRow) => rows.reduce((a, r) => a + (r[k] as number), 0);
  const callbacks = sum('callbacks');
  return {
    dispatched: sum('dispatched'),
    resolved: sum('resolved'),
    resolvedOnTime: sum('resolved_on_time'),
    onTimeRate: ratio(sum('resolved_on_time'), sum('resolved')),
    returned: sum('returned'),
    extensions: sum('extensions'),
    callbacks,
    satisfied: sum('satisfied'),
    basicallySatisfied: sum('basically_satisfied'),
    unsatisfied: sum('unsatisfied'),
    satisfactionRate: ratio(sum('satisfied') + sum('basically_satisfied'), callbacks),
    departments: rows.map((r) => ({
      code: r.department_code,
      name: r.department_name,
      dispatched: r.dispatched,
      resolved: r.resolved,
      resolvedOnTime: r.resolved_on_time,
      onTimeRate: ratio(r.resolved_on_time, r.resolved),
      returned: r.returned,
      extensions: r.extensions,
      callbacks: r.callbacks,
      satisfactionRate: ratio(r.satisfied + r.basically_satisfied, r.callbacks),
    })),
  };
}

// ---- CSV -------------------------------------------------------------------------------------------------

export type CsvSection = 'periods' | 'agents' | 'departments' | 'topics';

/** One CSV field: quoted when needed; text starting like a formula is defused for spreadsheets. */
function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  let s = String(v);
  if (/^[=+\-@]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function pct(v: number | null): string {
  return v === null ? '' : `${(v * 100).toFixed(2)}%`;
}

function sec(ms: number | null): string {
  return ms === null ? '' : (ms / 1000).toFixed(1);
}

const CALL_HEADERS = ['呼入量', '接通量', '放弃量', '失败量', '接通率', '放弃率', '服务水平', '平均等待(秒)', '平均应答速度(秒)', '最长等待(秒)', '平均通话时长(秒)', '平均处理时长(秒)'];

function callCells(f: CallFigures): unknown[] {
  return [f.offered, f.answered, f.abandoned, f.failed, pct(f.answerRate), pct(f.abandonRate), pct(f.serviceLevel), sec(f.avgWaitMs), sec(f.avgAnswerWaitMs), sec(f.maxWaitMs), sec(f.avgTalkMs), sec(f.avgHandleMs)];
}

/** CSV with a UTF-8 BOM (Excel then reads the Chinese headers correctly) and CRLF line ends. */
export function toCsv(r: KpiReport, section: CsvSection): string {
  const rows: unknown[][] = [];
  switch (section) {
    case 'periods':
      rows.push(['时段', ...CALL_HEADERS.map((h) => (h === '服务水平' ? `${r.range.serviceLevelSec}秒服务水平` : h))]);
      for (const p of r.periods) rows.push([p.label, ...callCells(p)]);
      rows.push(['合计', ...callCells(r.totals)]);
      break;
    case 'agents':
      rows.push(['工号', '姓名', '接通量', '平均通话时长(秒)', '总通话时长(秒)', '振铃次数', '未接次数', '评价数', '满意数']);
      for (const a of r.agents) rows.push([a.extension, a.displayName, a.answered, sec(a.avgTalkMs), sec(a.totalTalkMs), a.offers, a.missedOffers, a.surveyRated, a.surveySatisfied]);
      break;
    case 'departments':
      rows.push(['部门代码', '部门', '派单量', '办结量', '按时办结量', '按时办结率', '退单量', '延期申请', '回访量', '满意率']);
      for (const d of r.cases?.departments ?? []) {
        rows.push([d.code, d.name, d.dispatched, d.resolved, d.resolvedOnTime, pct(d.onTimeRate), d.returned, d.extensions, d.callbacks, pct(d.satisfactionRate)]);
      }
      break;
    case 'topics':
      rows.push(['热点词', '本期', '上期', '变化', '趋势']);
      for (const t of r.hotTopics) rows.push([t.term, t.count, t.previous, t.change, TREND_LABELS[t.trend]]);
      break;
  }
  return `\uFEFF${rows.map((row) => row.map(cell).join(',')).join('\r\n')}\r\n`;
}
