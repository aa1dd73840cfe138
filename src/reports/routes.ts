// GET /api/reports/kpi: KPIs for a range and granularity, as JSON or CSV (UTF-8 with BOM, for Excel).
import { Type } from 'typebox';
import { BEARER, requireRoles } from '../http/auth';
import { AUTH_ERRORS, Nullable } from '../http/schemas';
import type { FastifyTypeBox } from '../http/types';
import { toCsv, type ReportsService } from './service';
import { chinaDate, chinaLastDay } from '../infra/china-time';

const Rate = Nullable(Type.Number({ description: '比率（0–1，保留 4 位小数）；分母为 0 时为 null' }));
const Ms = Nullable(Type.Integer());

const CallFiguresProps = {
  offered: Type.Integer({ description: '呼入量（该时段开始、服务时间内的呼入电话）' }),
  answered: Type.Integer({ description: '人工接通量' }),
  abandoned: Type.Integer({ description: '放弃量（接通坐席前挂机）' }),
  failed: Type.Integer({ description: '失败量' }),
  callbackRequested: Type.Integer({ description: '排队中选择“保留位置回拨”的来电' }),
  afterHours: Type.Integer({ description: '非服务时间来电（不计入呼入量）' }),
  answeredWithinSl: Type.Integer({ description: '在服务水平阈值内接通的数量' }),
  answerRate: Rate,
  abandonRate: Rate,
  serviceLevel: Rate,
  avgWaitMs: Ms,
  avgAnswerWaitMs: Ms,
  maxWaitMs: Ms,
  avgTalkMs: Ms,
  avgHandleMs: Ms,
};

const KpiSchema = Type.Object({
  range: Type.Object({ from: Type.String(), to: Type.String(), timezone: Type.String(), granularity: Type.String(), serviceLevelSec: Type.Integer() }),
  totals: Type.Object(CallFiguresProps),
  periods: Type.Array(Type.Object({ periodStart: Type.String(), label: Type.String(), ...CallFiguresProps })),
  agents: Type.Array(
    Type.Object({
      agentId: Type.Integer(),
      extension: Type.String(),
      displayName: Type.String(),
      answered: Type.Integer(),
      avgTalkMs: Ms,
      totalTalkMs: Type.Integer(),
      offers: Type.Integer({ description: '振铃次数' }),
      missedOffers: Type.Integer({ description: '振铃未接（无应答、忙、失败）次数' }),
      surveyRated: Type.Integer(),
      surveySatisfied: Type.Integer(),
    }),
  ),
  survey: Nullable(
    Type.Object({ rated: Type.Integer(), satisfied: Type.Integer(), basicallySatisfied: Type.Integer(), unsatisfied: Type.Integer(), satisfactionRate: Rate }),
  ),
  cases: Nullable(
    Type.Object({
      dispatched: Type.Integer(),
      resolved: Type.Integer(),
      resolvedOnTime: Type.Integer(),
      onTimeRate: Rate,
      returned: Type.Integer(),
      extensions: Type.Integer(),
      callbacks: Type.Integer(),
      satisfied: Type.Integer(),
      basicallySatisfied: Type.Integer(),
      unsatisfied: Type.Integer(),
      satisfactionRate: Rate,
      departments: Type.Array(
        Type.Object({
          code: Type.String(),
          name: Type.String(),
          dispatched: Type.Integer(),
          resolved: Type.Integer(),
          resolvedOnTime: Type.Integer(),
          onTimeRate: Rate,
          returned: Type.Integer(),
          extensions: Type.Integer(),
          callbacks: Type.Integer(),
          satisfactionRate: Rate,
        }),
      ),
    }),
  ),
  hotTopics: Type.Array(Type.Object({ term: Type.String(), count: Type.Integer(), previous: Type.Integer(), change: Type.Integer(), trend: Type.String({ description: 'new 新出现 / up 上升 / flat 持平 / down 下降（与上一同长时段相比）' }) })),
});

const DATE_OR_TIME = '^\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,6})?)?(Z|[+-]\\d{2}(:?\\d{2})?)?)?$';

export function reportRoutes(fastify: FastifyTypeBox, reports: ReportsService): void {
  fastify.get(
    '/api/reports/kpi',
    {
      onRequest: requireRoles('supervisor', 'admin'),
      schema: {
        tags: ['reports'],
        summary: '运营指标（KPI）：呼入、接通、放弃、接通率、服务水平、平均等待、平均处理时长、坐席、工单、热词',
        description:
          '时间范围 [from, to)，按开始时间统计呼入电话；from/to 为 ISO 8601 时间或 YYYY-MM-DD 日期（按统计时区的零点）。' +
          '默认：今天零点至现在。服务水平 = 在 serviceLevelSec 秒内接通的电话 / 呼入量；平均处理时长暂按通话时长计（话后处理不逐通记录）。' +
          'format=csv 时返回 UTF-8（带 BOM）的 CSV，section 选择导出的表。',
        security: BEARER,
        querystring: Type.Object(
          {
            from: Type.Optional(Type.String({ pattern: DATE_OR_TIME, description: '开始（含）' })),
            to: Type.Optional(Type.String({ pattern: DATE_OR_TIME, description: '结束（不含）' })),
            granularity: Type.Union([Type.Literal('hour'), Type.Literal('day'), Type.Literal('month')], { default: 'day' }),
            serviceLevelSec: Type.Optional(Type.Integer({ minimum: 1, maximum: 600, description: '服务水平阈值（秒），默认 15' })),
            format: Type.Union([Type.Literal('json'), Type.Literal('csv')], { default: 'json' }),
            section: Type.Union([Type.Literal('periods'), Type.Literal('agents'), Type.Literal('departments'), Type.Literal('topics')], {
              default: 'periods',
              description: 'CSV 导出的表：periods 分时段 / agents 坐席 / departments 部门工单 / topics 热词',
            }),
            topics: Type.Integer({ minimum: 1, maximum: 100, default: 20, description: '热词个数' }),
          },
          { additionalProperties: false },
        ),
        response: { 200: KpiSchema, ...AUTH_ERRORS },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const report = await reports.kpi({ from: q.from, to: q.to, granularity: q.granularity, serviceLevelSec: q.serviceLevelSec, topics: q.topics });
      if (q.format === 'json') return report;
      // Named by the China-time days it covers (the range is UTC and half-open: 12-04 00:00+08 is 12-03T16:00Z).
      const name = `kpi-${q.section}-${chinaDate(report.range.from)}-${chinaLastDay(report.range.to)}.csv`;
      reply.header('content-type', 'text/csv; charset=utf-8');
      reply.header('content-disposition', `attachment; filename="${name}"`);
      return reply.send(toCsv(report, q.section) as never);
    },
  );
}
