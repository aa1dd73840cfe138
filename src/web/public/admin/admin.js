// @ts-check
// Supervisor / admin / dispatcher page: search with facets and highlighted snippets (only <mark> is kept),
// case detail with its full history (dispatch, extension decisions), live agent board, extension approvals,
// overdue cases and department notices (督办), and the KPI dashboard (plain SVG charts built with DOM calls) with
// its CSV exports. The board comes over Server-Sent Events; listen / whisper / barge call the spy route.
import {
  $, el, svg, fill, apiClient, signIn, notifier, fmtDateTime, fmtDate, fmtDuration, fmtClock, fmtPct, fields, historyList, markedText, qs,
} from '../assets/common.js';
import { dispatchQueue } from './dispatch.js';
import { label, CASE_STATUS, AGENT_STATE, CALL_OUTCOME, CALL_STATE, CHANNEL, URGENCY, SATISFACTION, NOTICE_KIND, PRESENCE as PRESENCE_LABELS } from '../assets/labels.js';

const api = apiClient();
const say = notifier($('#message'));
/** @param {unknown} err */
const errText = (err) => (err instanceof Error ? err.message : String(err));

/** @type {any} */
let me = null;
/** @type {any[]} */
let departments = [];
/** Reloads the 待派单 queue (set once the page is signed in). */
let reloadQueue = () => {};

// ---------------------------------------------------------------- search

const FACETS = /** @type {[string, string, string][]} */ ([
  ['type', 'types', '类型'],
  ['category', 'category', '分类'],
  ['department', 'department', '部门'],
  ['status', 'status', '状态'],
  ['channel', 'channel', '渠道'],
]);
const TYPE_LABELS = /** @type {Record<string, string>} */ ({ call: '通话', case: '工单', request: '网上求助', knowledge: '知识库' });

/** Current query: q plus facet filters (param → { value, label }). */
const search = { q: '', /** @type {Record<string, { value: string, label: string }>} */ filters: {}, /** @type {string | null} */ cursor: null };

async function runSearch(/** @type {boolean} */ more = false) {
  if (!search.q) return;
  const params = { q: search.q, limit: 20, cursor: more ? search.cursor : undefined };
  for (const [k, f] of Object.entries(search.filters)) Object.assign(params, { [k]: f.value });
  try {
    const r = await api.get(`/api/search${qs(params)}`);
    if (!more) fill($('#results'));
    fill($('#search-total'), r.totalExact === false ? `${r.totalLabel}结果（抽样估计）` : `共 ${r.total} 条结果`);
    for (const it of r.items) $('#results').appendChild(resultItem(it));
    if (!r.items.length && !more) $('#results').appendChild(el('p', { class: 'muted' }, '没有找到匹配的内容'));
    search.cursor = r.nextCursor;
    $('#btn-more').hidden = !r.nextCursor;
    if (!more) showFacets(r.facets);
    showFilters();
  } catch (err) {
    say(errText(err), 'error');
  }
}

/** @param {any} it */
function resultItem(it) {
  return el(
    'div',
    { class: 'result', dataset: { type: it.type, id: it.id } },
    el('div', { class: 'title' }, el('span', { class: 'badge' }, TYPE_LABELS[it.type] ?? it.type), ' ', el('a', { href: '#detail-panel', onclick: () => openResult(it) }, markedText(it.titleHtml))),
    el('div', { class: 'snippet' }, markedText(it.snippet)),
    el(
      'div',
      { class: 'meta' },
      [it.trackingNo, it.statusLabel, it.categoryName, it.departmentName, it.callerNumber, fmtDateTime(it.createdAt)].filter(Boolean).join(' · '),
    ),
  );
}

/** @param {any} facets */
function showFacets(facets) {
  const box = $('#facets');
  fill(box);
  for (const [key, param, label] of FACETS) {
    const list = facets?.[key] ?? [];
    if (!list.length) continue;
    box.appendChild(el('h3', {}, label));
    for (const f of list) {
      const on = search.filters[param]?.value === f.key;
      box.appendChild(
        el(
          'button',
          {
            type: 'button',
            class: on ? 'on' : '',
            dataset: { facet: key, key: f.key },
            onclick: () => {
              if (on) delete search.filters[param];
              else search.filters[param] = { value: f.key, label: `${label}：${key === 'type' ? (TYPE_LABELS[f.key] ?? f.label) : f.label}` };
              void runSearch();
            },
          },
          `${key === 'type' ? (TYPE_LABELS[f.key] ?? f.label) : f.label}（${f.count}）`,
        ),
      );
    }
  }
}

function showFilters() {
  fill(
    $('#active-filters'),
    Object.entries(search.filters).map(([k, f]) =>
      el(
        'button',
        {
          type: 'button',
          class: 'small',
          onclick: () => {
            delete search.filters[k];
            void runSearch();
          },
        },
        `${f.label} ✕`,
      ),
    ),
  );
}

/** @param {any} it */
async function openResult(it) {
  if (it.type === 'case' || it.type === 'request') return showCase(Number(it.id));
  if (it.type === 'call') return showCall(it.callId ?? it.id);
  try {
    const a = await api.get(`/api/knowledge/${it.id}`);
    fill($('#detail'), el('h3', {}, a.title), fields([['类型', a.kindLabel], ['部门', a.departmentName], ['发布', fmtDateTime(a.publishedAt)]]), el('div', { class: 'pre' }, a.body));
  } catch (err) {
    say(errText(err), 'error');
  }
}

// ---------------------------------------------------------------- details

/** @param {number} id */
async function showCase(id) {
  try {
    const k = await api.get(`/api/cases/${id}`);
    const box = $('#detail');
    fill(
      box,
      el('h3', { id: 'detail-tracking' }, k.trackingNo, ' ', el('span', { class: `badge ${k.overdue ? 'red' : k.warningLevel ?? ''}`, id: 'detail-status' }, k.statusLabel)),
      fields([
        ['标题', k.title],
        ['诉求内容', el('div', { class: 'pre' }, k.description)],
        ['渠道', label(CHANNEL, k.channel)],
        ['分类', k.categoryName],
        ['紧急程度', label(URGENCY, k.urgency)],
        ['联系人', [k.contactName, k.contactPhone].filter(Boolean).join(' ')],
        ['承办部门', k.departmentName],
        ['办结期限', fmtDateTime(k.resolveDeadline)],
        ['延期申请', k.status === 'extension_requested' && k.extensionUntil ? `申请延至 ${fmtDateTime(k.extensionUntil)}（待审批）` : null],
        ['答复', k.reply ? el('div', { class: 'pre' }, k.reply) : null],
        ['退单理由', k.returnReason],
        ['延期理由', k.extensionReason],
        ['满意度', k.satisfaction ? label(SATISFACTION, k.satisfaction) : null],
      ]),
      caseActions(k),
      el('h3', {}, '完整处理记录'),
      historyList(k.events),
    );
  } catch (err) {
    say(errText(err), 'error');
  }
}

/** @param {any} k */
function caseActions(k) {
  const box = el('div', {});
  if (k.status === 'draft' || k.status === 'returned') {
    const select = el('select', { id: 'dispatch-dept', 'aria-label': '派往部门' }, el('option', { value: '' }, '（请选择部门）'), departments.map((d) => el('option', { value: d.code }, d.name)));
    box.appendChild(
      el(
        'div',
        { class: 'actions' },
        select,
        el(
          'button',
          {
            type: 'button',
            class: 'primary',
            onclick: () => {
              const code = /** @type {HTMLSelectElement} */ (select).value;
              if (!code) return say('请先选择派往部门', 'error');
              void caseAction(k, 'dispatch', { departmentCode: code });
            },
          },
          '派单',
        ),
      ),
    );
  }
  if (k.status === 'extension_requested') box.appendChild(extensionButtons(k, () => showCase(k.id)));
  return box;
}

/**
 * @param {any} k
 * @param {string} action
 * @param {unknown} body
 */
async function caseAction(k, action, body) {
  try {
    await api.post(`/api/cases/${k.id}/${action}`, body);
    say(`工单 ${k.trackingNo} 已处理`, 'ok');
  } catch (err) {
    say(errText(err), 'error');
  }
  await showCase(k.id);
  void loadExtensions();
  reloadQueue();
}

/** @param {string} callId */
async function showCall(callId) {
  try {
    const c = await api.get(`/api/calls/${callId}`);
    fill(
      $('#detail'),
      el('h3', {}, '通话 ', c.callerNumber),
      fields([
        ['来电人', c.callerName],
        ['坐席', c.agentName],
        ['开始', fmtDateTime(c.startedAt)],
        ['等待', fmtDuration(c.waitMs)],
        ['通话', fmtDuration(c.talkMs)],
        ['结果', label(CALL_OUTCOME, c.outcome)],
      ]),
      c.recordingName
        ? el(
            'div',
            { class: 'actions' },
            el(
              'button',
              {
                type: 'button',
                class: 'small',
                id: 'btn-recording',
                onclick: () => api.download(`/api/calls/${callId}/recording`, `录音-${c.callerNumber}.wav`).catch((err) => say(errText(err), 'error')),
              },
              '下载录音',
            ),
          )
        : null,
      el('h3', {}, '通话小结'),
      el(
        'ul',
        { class: 'list' },
        c.notes.map((/** @type {any} */ n) => el('li', {}, el('div', { class: 'muted' }, fmtDateTime(n.createdAt), ' · ', n.authorName, n.categoryName ? ` · ${n.categoryName}` : ''), el('div', { class: 'pre' }, n.content))),
      ),
    );
  } catch (err) {
    say(errText(err), 'error');
  }
}

// ---------------------------------------------------------------- live board (SSE) with listen / whisper / barge

const SPY_MODES = /** @type {[string, string, string][]} */ ([
  ['listen', '监听', '监听（双方都听不到您）'],
  ['whisper', '耳语', '耳语（只有坐席能听到您）'],
  ['barge', '强插', '强插（三方通话）'],
]);

/** Rows of the board by agent id; the spy buttons are rebuilt only when the agent's call changes. */
const boardRows = /** @type {Map<number, { tr: HTMLElement, cells: HTMLElement[], actionsKey: string }>} */ (new Map());
/** @type {ReturnType<typeof setInterval> | undefined} */
let boardPoll;

function startBoard() {
  if (me.role === 'dispatcher') {
    fill($('#agents'), el('tr', {}, el('td', { colspan: 7, class: 'muted' }, '坐席监控仅限班长和管理员')));
    return;
  }
  // The session cookie authenticates the stream (no token in the URL).
  const es = new EventSource(`/api/supervision/board/stream${qs({ intervalMs: 1000 })}`);
  es.addEventListener('board', (ev) => {
    try {
      showBoard(JSON.parse(/** @type {MessageEvent} */ (ev).data));
    } catch (err) {
      say(errText(err), 'error');
    }
  });
  es.addEventListener('error', (ev) => {
    // The server's own "event: error" carries a message; the browser's error event means the stream dropped.
    const data = /** @type {MessageEvent} */ (ev).data;
    if (typeof data === 'string' && data) {
      try {
        fill($('#live-summary'), JSON.parse(data).message ?? '监控数据暂时不可用');
      } catch {
        /* not JSON */
      }
      return;
    }
    if (es.readyState === EventSource.CLOSED) {
      // Refused (signed out, role) or gone for good: poll the JSON board instead.
      if (!boardPoll) boardPoll = setInterval(pollBoard, 3000);
      void pollBoard();
    } else fill($('#live-summary'), '实时推送中断，正在重连……');
  });
}

async function pollBoard() {
  try {
    showBoard(await api.get('/api/supervision/board'));
  } catch (err) {
    fill($('#live-summary'), errText(err));
  }
}

/** @param {any} b the board (GET /api/supervision/board) */
function showBoard(b) {
  const up = (/** @type {string} */ s) => (s === 'up' ? '正常' : '断开');
  fill(
    $('#live-summary'),
    `电话系统 ARI ${up(b.telephony?.ari)} · AMI ${up(b.telephony?.ami)} · 排队 ${b.queue.waiting} 人 · 最长等待 ${fmtDuration(b.queue.longestWaitMs)} · 在线通话 ${b.calls.length} 路`,
  );
  /** @type {Map<string, any>} */
  const calls = new Map(b.calls.map((/** @type {any} */ c) => [c.callId, c]));
  const body = $('#agents');
  const seen = new Set();
  if (!b.agents.length) {
    boardRows.clear();
    return fill(body, el('tr', {}, el('td', { colspan: 7, class: 'muted' }, '暂无坐席')));
  }
  body.querySelector('tr:not([data-agent])')?.remove();
  for (const a of b.agents) {
    seen.add(a.agentId);
    let row = boardRows.get(a.agentId);
    if (!row) {
      const cells = Array.from({ length: 7 }, () => el('td', {}));
      row = { tr: el('tr', { dataset: { agent: a.agentId } }, cells), cells, actionsKey: '' };
      boardRows.set(a.agentId, row);
    }
    body.appendChild(row.tr); // keeps the order of the board (moves an existing row)
    const call = a.callId ? calls.get(a.callId) : null;
    const [name, ext, state, since, phone, current, actions] = row.cells;
    fill(/** @type {HTMLElement} */ (name), a.displayName);
    fill(/** @type {HTMLElement} */ (ext), a.extension);
    fill(
      /** @type {HTMLElement} */ (state),
      el('span', { class: `badge ${a.state}` }, label(AGENT_STATE, a.state)),
      a.reason ? ` ${a.reason}` : '',
      a.missedToday ? el('span', { class: 'muted' }, ` 今日未接 ${a.missedToday}`) : '',
    );
    fill(/** @type {HTMLElement} */ (since), a.since > 0 && a.state !== 'offline' ? fmtDuration(Date.now() - a.since) : '—');
    fill(/** @type {HTMLElement} */ (phone), label(PRESENCE_LABELS, a.presence));
    fill(
      /** @type {HTMLElement} */ (current),
      a.call ? `${a.call.callerNumber}（${label(CALL_STATE, a.call.state)}）${call ? ` ${fmtClock(call.durationMs)}` : ''}` : '—',
    );
    const canSpy = me.role === 'supervisor' && a.callId && a.call?.state === 'connected';
    const key = canSpy ? a.callId : '';
    if (row.actionsKey !== key || !actions?.firstChild) {
      row.actionsKey = key;
      fill(
        /** @type {HTMLElement} */ (actions),
        canSpy
          ? SPY_MODES.map(([mode, label, title]) =>
              el('button', { type: 'button', class: `small${mode === 'barge' ? ' danger' : ''}`, title, dataset: { spy: mode, call: a.callId }, onclick: () => spy(a, mode, label) }, label),
            )
          : el('span', { class: 'muted' }, a.callId && me.role !== 'supervisor' ? '仅班长可用' : '—'),
      );
    }
  }
  for (const [id, row] of boardRows) {
    if (!seen.has(id)) {
      row.tr.remove();
      boardRows.delete(id);
    }
  }
}

/**
 * @param {any} a board agent
 * @param {string} mode
 * @param {string} label
 */
async function spy(a, mode, label) {
  try {
    const r = await api.post(`/api/supervision/calls/${a.callId}/spy`, { mode });
    say(`${label}：正在呼叫您的分机 ${r.endpoint}，接听后进入 ${a.displayName} 的通话`, 'ok');
  } catch (err) {
    say(`${label}失败：${errText(err)}`, 'error');
  }
}

// ---------------------------------------------------------------- KPI dashboard

/** @param {Date} d */
const ymd = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

/** The query of the KPI form: the end date is inclusive on the page, exclusive in the API. */
function kpiQuery() {
  const from = /** @type {HTMLInputElement} */ ($('#kpi-from')).value;
  const toIncl = /** @type {HTMLInputElement} */ ($('#kpi-to')).value;
  const [y, m, d] = toIncl.split('-').map(Number);
  const to = ymd(new Date(/** @type {number} */ (y), /** @type {number} */ (m) - 1, /** @type {number} */ (d) + 1));
  return { from, to, granularity: /** @type {HTMLSelectElement} */ ($('#kpi-granularity')).value };
}

async function loadKpi() {
  const box = $('#kpi-body');
  const q = kpiQuery();
  if (!q.from || !q.to) return say('请选择开始和结束日期', 'error');
  fill(box, el('p', { class: 'muted' }, '统计中……'));
  try {
    const r = await api.get(`/api/reports/kpi${qs(q)}`);
    showKpi(r);
  } catch (err) {
    fill(box, el('p', { class: 'notice notice-error' }, errText(err)));
  }
}

/** @param {any} r the KPI report */
function showKpi(r) {
  const t = r.totals;
  const sl = r.range.serviceLevelSec;
  fill($('#kpi-range'), `${fmtDateTime(r.range.from)} 至 ${fmtDateTime(r.range.to)}（${r.range.timezone}）`);
  const tile = (/** @type {string} */ key, /** @type {string} */ label, /** @type {string} */ value, /** @type {string} */ note = '') =>
    el('div', { class: 'count', dataset: { kpi: key } }, el('div', { class: 'n' }, value), el('div', { class: 'k' }, label), note ? el('div', { class: 'k' }, note) : null);
  const tiles = el(
    'div',
    { class: 'counts', id: 'kpi-tiles' },
    tile('offered', '呼入量', String(t.offered), `接通 ${t.answered} · 放弃 ${t.abandoned}`),
    tile('answerRate', '接通率', fmtPct(t.answerRate)),
    tile('serviceLevel', `${sl} 秒服务水平`, fmtPct(t.serviceLevel), `${t.answeredWithinSl} 通在 ${sl} 秒内接通`),
    tile('abandonRate', '放弃率', fmtPct(t.abandonRate)),
    tile('avgWait', '平均等待', fmtDuration(t.avgWaitMs), `最长 ${fmtDuration(t.maxWaitMs)}`),
    tile('avgTalk', '平均通话', fmtDuration(t.avgTalkMs)),
    tile('onTimeRate', '按时办结率', fmtPct(r.cases?.onTimeRate), r.cases ? `办结 ${r.cases.resolved} · 按时 ${r.cases.resolvedOnTime}` : ''),
    tile('satisfaction', '来电满意度', fmtPct(r.survey?.satisfactionRate), r.survey ? `评价 ${r.survey.rated} 次` : ''),
    tile('caseSatisfaction', '回访满意率', fmtPct(r.cases?.satisfactionRate), r.cases ? `回访 ${r.cases.callbacks} 次` : ''),
  );
  const labels = r.periods.map((/** @type {any} */ p) => p.label);
  const charts = el(
    'div',
    { class: 'charts' },
    columnChart({
      id: 'chart-rates',
      title: `接通率、${sl} 秒服务水平、放弃率`,
      labels,
      max: 1,
      fmt: fmtPct,
      series: [
        { key: 'answerRate', name: '接通率', cls: 's1', values: r.periods.map((/** @type {any} */ p) => p.answerRate) },
        { key: 'serviceLevel', name: `${sl} 秒服务水平`, cls: 's2', values: r.periods.map((/** @type {any} */ p) => p.serviceLevel) },
        { key: 'abandonRate', name: '放弃率', cls: 's3', values: r.periods.map((/** @type {any} */ p) => p.abandonRate) },
      ],
    }),
    columnChart({
      id: 'chart-volume',
      title: '呼入量与接通量',
      labels,
      integer: true,
      fmt: (v) => (v === null ? '—' : `${v} 通`),
      series: [
        { key: 'offered', name: '呼入', cls: 's4', values: r.periods.map((/** @type {any} */ p) => p.offered) },
        { key: 'answered', name: '接通', cls: 's1', values: r.periods.map((/** @type {any} */ p) => p.answered) },
        { key: 'abandoned', name: '放弃', cls: 's3', values: r.periods.map((/** @type {any} */ p) => p.abandoned) },
      ],
    }),
    columnChart({
      id: 'chart-wait',
      title: '平均等待时长',
      labels,
      tickUnit: 1000,
      max: (() => {
        const top = Math.max(0, ...r.periods.map((/** @type {any} */ p) => p.avgWaitMs ?? 0)) / 1000;
        return top > 0 ? niceMax(top, true) * 1000 : 20000;
      })(),
      fmt: (v) => fmtDuration(v),
      series: [{ key: 'avgWaitMs', name: '平均等待', cls: 's2', values: r.periods.map((/** @type {any} */ p) => p.avgWaitMs) }],
    }),
    barList({
      id: 'chart-ontime',
      title: '各部门按时办结率',
      empty: r.cases ? '该时段没有办结的工单' : '工单统计未启用',
      max: 1,
      rows: (r.cases?.departments ?? []).filter((/** @type {any} */ d) => d.resolved > 0).map((/** @type {any} */ d) => ({
        key: d.code,
        label: d.name,
        value: d.onTimeRate,
        text: `${fmtPct(d.onTimeRate)}（${d.resolvedOnTime}/${d.resolved}）`,
        cls: d.onTimeRate !== null && d.onTimeRate < 0.8 ? 's3' : 's1',
      })),
    }),
    satisfactionChart(r),
    barList({
      id: 'chart-topics',
      title: '热点问题（通话小结、工单中出现最多的词）',
      empty: '该时段没有热词',
      rows: r.hotTopics.map((/** @type {any} */ h) => ({
        key: h.term,
        label: h.term,
        value: h.count,
        text: `${h.count} 次${h.change > 0 ? `（↑${h.change}）` : h.change < 0 ? `（↓${-h.change}）` : ''}`,
        cls: h.change > 0 ? 's3' : 's4',
      })),
    }),
  );
  const agents = el(
    'table',
    { class: 'data', id: 'kpi-agents' },
    el('thead', {}, el('tr', {}, ['坐席', '工号', '接通量', '平均通话', '振铃', '未接', '评价', '满意'].map((h) => el('th', {}, h)))),
    el(
      'tbody',
      {},
      r.agents.length
        ? r.agents.map((/** @type {any} */ a) =>
            el('tr', {}, [a.displayName, a.extension, a.answered, fmtDuration(a.avgTalkMs), a.offers, a.missedOffers, a.surveyRated, a.surveySatisfied].map((v) => el('td', {}, v))),
          )
        : el('tr', {}, el('td', { colspan: 8, class: 'muted' }, '该时段没有坐席话务')),
    ),
  );
  fill($('#kpi-body'), tiles, charts, el('h3', {}, '坐席话务'), agents);
}

/**
 * Grouped columns per period, drawn as SVG (one group per label, one column per series).
 * @param {{ id: string, title: string, labels: string[], series: { key: string, name: string, cls: string, values: (number | null)[] }[],
 *           max?: number, integer?: boolean, tickUnit?: number, fmt: (v: number | null) => string }} o
 */
function columnChart(o) {
  const W = 560;
  const H = 230;
  const left = 58;
  const bottom = 34;
  const top = 10;
  const plotW = W - left - 8;
  const plotH = H - top - bottom;
  const dataMax = Math.max(0, ...o.series.flatMap((s) => s.values.map((v) => v ?? 0)));
  const max = o.max ?? (dataMax > 0 ? niceMax(dataMax, o.integer) : o.integer ? 4 : 1);
  // Gridlines where the figures are round: quarters of 100 %, or fifths / quarters / halves of the top.
  const unit = o.tickUnit ?? 1;
  const ticks = o.max === 1 || (max / unit) % 4 === 0 ? 4 : (max / unit) % 5 === 0 ? 5 : 2;
  const n = Math.max(1, o.labels.length);
  const groupW = plotW / n;
  const barW = Math.max(1, (groupW * 0.8) / o.series.length);
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': o.title, class: 'chart' });
  for (let i = 0; i <= ticks; i += 1) {
    const y = top + plotH - (plotH * i) / ticks;
    chart.appendChild(svg('line', { x1: left, x2: W - 8, y1: y, y2: y, class: 'grid' }));
    chart.appendChild(svg('text', { x: left - 4, y: y + 4, class: 'axis', 'text-anchor': 'end' }, o.fmt((max * i) / ticks)));
  }
  const every = Math.ceil(n / 8);
  o.labels.forEach((label, i) => {
    const gx = left + i * groupW + groupW * 0.1;
    o.series.forEach((s, j) => {
      const v = s.values[i];
      if (v === null || v === undefined) return;
      const h = max > 0 ? Math.min(1, v / max) * plotH : 0;
      chart.appendChild(
        svg(
          'rect',
          { x: gx + j * barW, y: top + plotH - h, width: Math.max(1, barW - 1), height: Math.max(h, v > 0 ? 1 : 0), class: `bar ${s.cls}`, 'data-series': s.key, 'data-label': label, 'data-value': v },
          svg('title', {}, `${label} ${s.name}：${o.fmt(v)}`),
        ),
      );
    });
    if (i % every === 0) chart.appendChild(svg('text', { x: left + i * groupW + groupW / 2, y: H - bottom + 16, class: 'axis', 'text-anchor': 'middle' }, shortLabel(label)));
  });
  if (!o.labels.length) chart.appendChild(svg('text', { x: W / 2, y: H / 2, class: 'axis', 'text-anchor': 'middle' }, '该时段没有数据'));
  return el(
    'figure',
    { class: 'chart-box', id: o.id },
    el('figcaption', {}, o.title),
    chart,
    el('div', { class: 'legend' }, o.series.map((s) => el('span', {}, el('i', { class: `swatch ${s.cls}` }), s.name))),
  );
}

/**
 * Horizontal bars with their figure written beside them.
 * @param {{ id: string, title: string, empty: string, max?: number, rows: { key: string, label: string, value: number | null, text: string, cls: string }[] }} o
 */
function barList(o) {
  const W = 640;
  const rowH = 24;
  const labelW = 150;
  const textW = 130;
  const max = o.max ?? Math.max(1, ...o.rows.map((r) => r.value ?? 0));
  const box = el('figure', { class: 'chart-box', id: o.id }, el('figcaption', {}, o.title));
  if (!o.rows.length) {
    box.appendChild(el('p', { class: 'muted' }, o.empty));
    return box;
  }
  const chart = svg('svg', { viewBox: `0 0 ${W} ${o.rows.length * rowH + 6}`, role: 'img', 'aria-label': o.title, class: 'chart' });
  o.rows.forEach((r, i) => {
    const y = 3 + i * rowH;
    const w = ((r.value ?? 0) / max) * (W - labelW - textW - 10);
    chart.appendChild(svg('text', { x: labelW - 6, y: y + 16, class: 'axis label', 'text-anchor': 'end' }, r.label.length > 10 ? `${r.label.slice(0, 10)}…` : r.label));
    chart.appendChild(
      svg(
        'rect',
        { x: labelW, y: y + 3, width: Math.max(w, r.value ? 1 : 0), height: rowH - 8, class: `bar ${r.cls}`, 'data-key': r.key, 'data-value': r.value ?? '' },
        svg('title', {}, `${r.label}：${r.text}`),
      ),
    );
    chart.appendChild(svg('text', { x: labelW + w + 6, y: y + 16, class: 'axis value' }, r.text));
  });
  box.appendChild(chart);
  return box;
}

/** The post-call survey and the callbacks of cases, as 100 % stacked bars (满意 / 基本满意 / 不满意). @param {any} r */
function satisfactionChart(r) {
  const rows = [];
  if (r.survey) rows.push({ key: 'survey', label: '来电评价', parts: [r.survey.satisfied, r.survey.basicallySatisfied, r.survey.unsatisfied], rate: r.survey.satisfactionRate });
  if (r.cases) rows.push({ key: 'callbacks', label: '工单回访', parts: [r.cases.satisfied, r.cases.basicallySatisfied, r.cases.unsatisfied], rate: r.cases.satisfactionRate });
  const box = el('figure', { class: 'chart-box', id: 'chart-satisfaction' }, el('figcaption', {}, '满意度'));
  if (!rows.length) {
    box.appendChild(el('p', { class: 'muted' }, '满意度评价未启用'));
    return box;
  }
  const W = 640;
  const labelW = 90;
  const textW = 120;
  const chart = svg('svg', { viewBox: `0 0 ${W} ${rows.length * 34 + 6}`, role: 'img', 'aria-label': '满意度', class: 'chart' });
  const names = ['满意', '基本满意', '不满意'];
  const cls = ['s1', 's2', 's3'];
  rows.forEach((row, i) => {
    const y = 3 + i * 34;
    const total = row.parts.reduce((a, b) => a + b, 0);
    chart.appendChild(svg('text', { x: labelW - 6, y: y + 20, class: 'axis label', 'text-anchor': 'end' }, row.label));
    let x = labelW;
    row.parts.forEach((n, j) => {
      const w = total ? (n / total) * (W - labelW - textW) : 0;
      if (w > 0) chart.appendChild(svg('rect', { x, y: y + 4, width: w, height: 24, class: `bar ${cls[j]}`, 'data-key': `${row.key}-${j + 1}`, 'data-value': n }, svg('title', {}, `${row.label} ${names[j]}：${n}`)));
      x += w;
    });
    if (!total) chart.appendChild(svg('rect', { x: labelW, y: y + 4, width: W - labelW - textW, height: 24, class: 'bar empty' }));
    chart.appendChild(svg('text', { x: W - textW + 6, y: y + 20, class: 'axis value', 'data-key': row.key }, total ? `满意率 ${fmtPct(row.rate)}（${total}）` : '暂无评价'));
  });
  box.appendChild(chart);
  box.appendChild(el('div', { class: 'legend' }, names.map((nm, j) => el('span', {}, el('i', { class: `swatch ${cls[j]}` }), nm))));
  return box;
}

/**
 * @param {number} v
 * @param {boolean} [integer] counts: no fractional gridlines
 */
function niceMax(v, integer = false) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of integer && p < 10 ? [1, 2, 4, 5, 8, 10] : [1, 2, 2.5, 5, 10]) if (m * p >= v) return Math.max(m * p, integer ? 4 : 0);
  return 10 * p;
}

/** "2026-03-02 08:00" → "08:00"; "2026-03-02" → "03-02". @param {string} label */
function shortLabel(label) {
  const hm = /\d{2}:\d{2}$/.exec(label);
  if (hm) return hm[0];
  const md = /^\d{4}-(\d{2}-\d{2})$/.exec(label);
  return md ? /** @type {string} */ (md[1]) : label;
}

// ---------------------------------------------------------------- approvals, overdue, notices

/**
 * @param {any} k
 * @param {() => unknown} after
 */
function extensionButtons(k, after) {
  const decide = async (/** @type {boolean} */ approve) => {
    try {
      await api.post(`/api/cases/${k.id}/extension/decision`, { approve });
      say(`工单 ${k.trackingNo} 延期申请已${approve ? '批准' : '驳回'}`, 'ok');
    } catch (err) {
      say(errText(err), 'error');
    }
    await after();
  };
  return el(
    'div',
    { class: 'actions' },
    el('button', { type: 'button', class: 'small primary', onclick: () => decide(true) }, '批准延期'),
    el('button', { type: 'button', class: 'small', onclick: () => decide(false) }, '驳回'),
  );
}

async function loadExtensions() {
  const box = $('#extensions');
  try {
    const list = await api.get(`/api/cases${qs({ status: 'extension_requested', limit: 50 })}`);
    if (!list.length) return fill(box, el('p', { class: 'muted' }, '暂无延期申请'));
    fill(
      box,
      el(
        'ul',
        { class: 'list' },
        list.map((/** @type {any} */ k) =>
          el(
            'li',
            { dataset: { case: k.id } },
            el('div', {}, el('a', { href: '#detail-panel', onclick: () => showCase(k.id) }, k.trackingNo), ' ', k.title),
            el('div', { class: 'muted' }, k.departmentName ?? '', ' · 原期限 ', fmtDateTime(k.resolveDeadline), k.extensionUntil ? ` · 申请延至 ${fmtDateTime(k.extensionUntil)}` : ''),
            k.extensionReason ? el('div', { class: 'pre' }, '理由：', k.extensionReason) : null,
            extensionButtons(k, loadExtensions),
          ),
        ),
      ),
    );
  } catch (err) {
    fill(box, el('p', { class: 'notice notice-error' }, errText(err)));
  }
}

async function loadOverdue() {
  const box = $('#overdue-list');
  try {
    const list = await api.get(`/api/cases/overdue${qs({ limit: 50 })}`);
    if (!list.length) return fill(box, el('p', { class: 'muted' }, '暂无超期工单'));
    fill(
      box,
      el(
        'table',
        { class: 'data' },
        el('thead', {}, el('tr', {}, el('th', {}, '编号'), el('th', {}, '标题'), el('th', {}, '部门'), el('th', {}, '期限'))),
        el(
          'tbody',
          {},
          list.map((/** @type {any} */ k) =>
            el(
              'tr',
              { class: 'clickable sla-red', onclick: () => showCase(k.id) },
              el('td', {}, k.trackingNo),
              el('td', {}, k.title),
              el('td', {}, k.departmentName ?? '—'),
              el('td', {}, fmtDateTime(k.resolveDeadline), ' ', label(CASE_STATUS, k.status), k.status === 'extension_requested' && k.extensionUntil ? `（申请延至 ${fmtDateTime(k.extensionUntil)}）` : ''),
            ),
          ),
        ),
      ),
    );
  } catch (err) {
    fill(box, el('p', { class: 'muted' }, errText(err)));
  }
}

async function loadNotices() {
  const code = /** @type {HTMLSelectElement} */ ($('#notice-dept')).value;
  const box = $('#notices');
  if (!code) return fill(box);
  try {
    const list = await api.get(`/api/departments/${code}/notices${qs({ limit: 30 })}`);
    fill(
      box,
      list.length
        ? list.map((/** @type {any} */ n) =>
            el('li', {}, el('span', { class: `badge ${n.kind === 'yellow' ? 'yellow' : 'red'}` }, label(NOTICE_KIND, n.kind)), ' ', el('strong', {}, n.trackingNo), ' ', n.message, el('div', { class: 'muted' }, fmtDateTime(n.createdAt), n.readAt ? ' · 部门已读' : ' · 部门未读')),
          )
        : el('li', { class: 'muted' }, '该部门暂无通知'),
    );
  } catch (err) {
    fill(box, el('li', { class: 'muted' }, errText(err)));
  }
}

// ---------------------------------------------------------------- start

async function main() {
  me = await signIn({
    allow: (u) => (['supervisor', 'admin', 'dispatcher'].includes(u.role) ? null : '该页面仅限班长、管理员和派单员使用'),
  });
  fill($('#who'), `${me.displayName}（${me.username}）`);
  $('#btn-signout').hidden = false;
  $('#workspace').hidden = false;
  $('#search-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    search.q = /** @type {HTMLInputElement} */ ($('#search-q')).value.trim();
    search.filters = {};
    void runSearch();
  });
  $('#btn-more').addEventListener('click', () => runSearch(true));
  departments = await api.get('/api/departments').catch(() => []);
  const queue = dispatchQueue({ api, box: $('#queue-list'), total: $('#queue-total'), departments: () => departments, say, open: (id) => void showCase(id) });
  reloadQueue = () => void queue.load();
  $('#btn-queue').addEventListener('click', reloadQueue);
  void queue.load();
  setInterval(() => !$('#queue-list').contains(document.activeElement) && queue.load(), 30000);
  fill($('#notice-dept'), el('option', { value: '' }, '（选择部门）'), departments.map((d) => el('option', { value: d.code }, d.name)));
  $('#notice-dept').addEventListener('change', loadNotices);
  startBoard();
  // The last seven days in China time (the browser's own time zone may differ).
  /** @type {HTMLInputElement} */ ($('#kpi-from')).value = fmtDate(Date.now() - 6 * 86_400_000);
  /** @type {HTMLInputElement} */ ($('#kpi-to')).value = fmtDate(Date.now());
  $('#kpi-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void loadKpi();
  });
  for (const b of Array.from(document.querySelectorAll('#kpi-csv button'))) {
    b.addEventListener('click', async () => {
      const section = /** @type {HTMLElement} */ (b).dataset.section ?? 'periods';
      const q = kpiQuery();
      try {
        await api.download(`/api/reports/kpi${qs({ ...q, format: 'csv', section })}`, `kpi-${section}.csv`);
      } catch (err) {
        say(errText(err), 'error');
      }
    });
  }
  const reports = me.role !== 'dispatcher';
  $('#kpi-form').hidden = !reports;
  $('#kpi-csv').hidden = !reports;
  if (!reports) fill($('#kpi-body'), el('p', { class: 'muted' }, '统计报表仅限班长和管理员'));
  await Promise.all([loadExtensions(), loadOverdue(), reports ? loadKpi() : null]);
}

main().catch((err) => say(errText(err), 'error'));
