// @ts-check
// Supervisor / admin / dispatcher page: search with facets and highlighted snippets (only <mark> is kept),
// case detail with its full history (dispatch, extension decisions), live agent board, extension approvals,
// overdue cases and department notices (督办). KPI charts come with the reports API (placeholder only).
import {
  $, el, fill, apiClient, tokenStore, signIn, notifier, fmtDateTime, fmtDuration, fields, historyList, markedText, qs,
  AGENT_STATES, STATUS_LABELS,
} from '../assets/common.js';

const store = tokenStore('admin');
const api = apiClient(() => store.get());
const say = notifier($('#message'));
/** @param {unknown} err */
const errText = (err) => (err instanceof Error ? err.message : String(err));

/** @type {any} */
let me = null;
/** @type {any[]} */
let departments = [];

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
    fill($('#search-total'), `共 ${r.total} 条结果`);
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
        ['渠道', { phone: '电话', web: '网上求助', open311: 'Open311' }[/** @type {'phone'} */ (k.channel)] ?? k.channel],
        ['分类', k.categoryName],
        ['紧急程度', k.urgency === 'urgent' ? '紧急' : '一般'],
        ['联系人', [k.contactName, k.contactPhone].filter(Boolean).join(' ')],
        ['承办部门', k.departmentName],
        ['办结期限', fmtDateTime(k.extensionUntil ?? k.resolveDeadline)],
        ['答复', k.reply ? el('div', { class: 'pre' }, k.reply) : null],
        ['退单理由', k.returnReason],
        ['延期理由', k.extensionReason],
        ['满意度', k.satisfaction],
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
    const select = el('select', { id: 'dispatch-dept', 'aria-label': '派往部门' }, departments.map((d) => el('option', { value: d.code }, d.name)));
    box.appendChild(
      el(
        'div',
        { class: 'actions' },
        select,
        el('button', { type: 'button', class: 'primary', onclick: () => caseAction(k, 'dispatch', { departmentCode: /** @type {HTMLSelectElement} */ (select).value }) }, '派单'),
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
        ['结果', c.outcome],
      ]),
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

// ---------------------------------------------------------------- live board

async function loadBoard() {
  if (me.role === 'dispatcher') {
    fill($('#agents'), el('tr', {}, el('td', { colspan: 6, class: 'muted' }, '坐席监控仅限班长和管理员')));
    return;
  }
  try {
    const [agents, live] = await Promise.all([api.get('/api/agents'), api.get('/api/calls/live').catch(() => null)]);
    /** @type {Map<number, any>} */
    const callsByAgent = new Map();
    for (const c of live?.calls ?? []) if (c.agentId !== null) callsByAgent.set(c.agentId, c);
    fill(
      $('#live-summary'),
      live ? `电话系统${live.telephony === 'up' ? '正常' : '断开'} · 排队 ${live.waiting} 人 · 最长等待 ${fmtDuration(live.longestWaitMs)}` : '电话系统未接入本节点',
    );
    fill(
      $('#agents'),
      agents.length
        ? agents.map((/** @type {any} */ a) => {
            const call = callsByAgent.get(a.agentId);
            return el(
              'tr',
              { dataset: { agent: a.agentId } },
              el('td', {}, a.displayName),
              el('td', {}, a.extension),
              el('td', {}, el('span', { class: `badge ${a.state}` }, AGENT_STATES[a.state] ?? a.state), a.reason ? ` ${a.reason}` : ''),
              el('td', {}, fmtDuration(Date.now() - a.since)),
              el('td', {}, a.device ?? '—'),
              el('td', {}, call ? `${call.callerNumber}（${call.state}）` : '—'),
            );
          })
        : el('tr', {}, el('td', { colspan: 6, class: 'muted' }, '暂无坐席')),
    );
  } catch (err) {
    fill($('#agents'), el('tr', {}, el('td', { colspan: 6 }, errText(err))));
  }
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
              el('td', {}, fmtDateTime(k.extensionUntil ?? k.resolveDeadline), ' ', STATUS_LABELS[k.status] ?? k.status),
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
  const kinds = /** @type {Record<string, string>} */ ({ yellow: '黄牌预警', red: '红牌超期', supervise: '督办', sign_overdue: '签收超时' });
  try {
    const list = await api.get(`/api/departments/${code}/notices${qs({ limit: 30 })}`);
    fill(
      box,
      list.length
        ? list.map((/** @type {any} */ n) =>
            el('li', {}, el('span', { class: `badge ${n.kind === 'yellow' ? 'yellow' : 'red'}` }, kinds[n.kind] ?? n.kind), ' ', el('strong', {}, n.trackingNo), ' ', n.message, el('div', { class: 'muted' }, fmtDateTime(n.createdAt), n.readAt ? ' · 部门已读' : ' · 部门未读')),
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
    page: 'admin',
    store,
    form: /** @type {HTMLFormElement} */ ($('#signin')),
    message: $('#message'),
    allow: (u) => (['supervisor', 'admin', 'dispatcher'].includes(u.role) ? null : '该页面仅限班长、管理员和派单员使用'),
  });
  fill($('#who'), `${me.displayName}（${me.username}）`);
  $('#btn-signout').hidden = false;
  $('#workspace').hidden = false;
  $('#btn-signout').addEventListener('click', () => {
    store.clear();
    location.reload();
  });
  $('#search-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    search.q = /** @type {HTMLInputElement} */ ($('#search-q')).value.trim();
    search.filters = {};
    void runSearch();
  });
  $('#btn-more').addEventListener('click', () => runSearch(true));
  departments = await api.get('/api/departments').catch(() => []);
  fill($('#notice-dept'), el('option', { value: '' }, '（选择部门）'), departments.map((d) => el('option', { value: d.code }, d.name)));
  $('#notice-dept').addEventListener('change', loadNotices);
  await Promise.all([loadBoard(), loadExtensions(), loadOverdue()]);
  setInterval(loadBoard, 3000);
}

main().catch((err) => say(errText(err), 'error'));
