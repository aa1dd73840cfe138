// @ts-check
// Department inbox: counts with the SLA colours, tickets by urgency (overdue first, then by deadline, with
// countdowns; a pending extension shown as pending, not as the deadline), claim next (签收下一件 — the server hands
// out the ticket due first), ticket detail with history, progress, resolve with a reply (办结), return with a
// reason (退单), request an extension (申请延期), notices linking to their ticket. Rows are reachable by keyboard.
import { $, el, fill, apiClient, signIn, notifier, fmtDateTime, fmtCountdown, fields, historyList, qs, ApiError } from '../assets/common.js';
import { label, CASE_STATUS, NOTICE_KIND, URGENCY } from '../assets/labels.js';

const api = apiClient();
const say = notifier($('#message'));

/** @type {{ code: string, name: string }} */
let dept = { code: '', name: '' };
/** @type {number | null} */
let selected = null;

/** @param {unknown} err */
const errText = (err) => (err instanceof Error ? err.message : String(err));

/** @param {any} k */
function slaClass(k) {
  if (k.overdue || k.warningLevel === 'red') return 'red';
  if (k.warningLevel === 'yellow') return 'yellow';
  return '';
}

async function loadSummary() {
  const s = await api.get(`/api/departments/${dept.code}/tickets/summary`);
  /** @type {[string, number, string][]} */
  const cards = [
    ['waiting', s.waiting, '待签收'],
    ['signed', s.signed, '已签收'],
    ['inProgress', s.inProgress, '办理中'],
    ['extensionRequested', s.extensionRequested, '延期申请中'],
    ['yellow', s.yellow, '黄牌预警'],
    ['red', s.red, '红牌超期'],
    ['overdue', s.overdue, '办结超期'],
    ['signOverdue', s.signOverdue, '签收超期'],
  ];
  const colour = /** @type {Record<string, string>} */ ({ yellow: 'yellow', red: 'red', overdue: 'red', signOverdue: 'red' });
  fill(
    $('#counts'),
    cards.map(([key, n, label]) =>
      el('div', { class: `count ${n > 0 && colour[key] ? colour[key] : ''}`, dataset: { key } }, el('div', { class: 'n' }, n), el('div', { class: 'k' }, label)),
    ),
  );
}

/**
 * The deadline cell: when the ticket is due, how long is left (剩余 2 小时 / 已超期 3 小时), and for a ticket still
 * waiting to be signed, its signing deadline; a pending extension is shown as requested, the deadline unchanged.
 * @param {any} k
 */
function deadlineCell(k) {
  const waiting = k.status === 'dispatched' || k.status === 'reopened';
  const signLate = waiting && k.signDeadline && new Date(k.signDeadline).getTime() < Date.now();
  return [
    el('div', {}, fmtDateTime(k.resolveDeadline), ' ', el('strong', { class: `countdown ${k.overdue ? 'late' : ''}` }, fmtCountdown(k.resolveDeadline))),
    waiting && k.signDeadline ? el('div', { class: `muted ${signLate ? 'late' : ''}` }, `签收${fmtCountdown(k.signDeadline)}`) : null,
    k.status === 'extension_requested' && k.extensionUntil
      ? el('div', { class: 'badge yellow pending-extension' }, `延期申请中：申请延至 ${fmtDateTime(k.extensionUntil)}（待审批）`)
      : null,
  ];
}

async function loadTickets() {
  const mine = /** @type {HTMLInputElement} */ ($('#only-mine')).checked;
  const list = await api.get(`/api/departments/${dept.code}/tickets${qs({ mine: mine || undefined, limit: 100 })}`);
  fill(
    $('#tickets'),
    list.length
      ? list.map((/** @type {any} */ k) => {
          const sla = slaClass(k);
          const tr = el(
            'tr',
            {
              class: `clickable ${sla ? `sla-${sla}` : ''} ${k.id === selected ? 'selected' : ''}`,
              dataset: { id: k.id },
              tabindex: 0,
              'aria-label': `工单 ${k.trackingNo} ${k.title}，${label(CASE_STATUS, k.status)}，${fmtCountdown(k.resolveDeadline)}`,
              onclick: () => showCase(k.id),
            },
            el('td', {}, k.trackingNo, k.urgency === 'urgent' ? el('span', { class: 'badge red' }, '急') : null),
            el('td', {}, k.title),
            el('td', {}, label(CASE_STATUS, k.status)),
            el('td', {}, deadlineCell(k), sla === 'red' ? el('span', { class: 'badge red' }, '超期') : sla === 'yellow' ? el('span', { class: 'badge yellow' }, '预警') : null),
          );
          tr.addEventListener('keydown', (ev) => {
            if (ev.key === 'Enter' || ev.key === ' ') {
              ev.preventDefault();
              void showCase(k.id);
            } else if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
              ev.preventDefault();
              const next = ev.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling;
              /** @type {HTMLElement | null} */ (next)?.focus();
            }
          });
          return tr;
        })
      : el('tr', {}, el('td', { colspan: 4, class: 'muted' }, '暂无在办工单')),
  );
}

async function loadNotices() {
  const list = await api.get(`/api/departments/${dept.code}/notices${qs({ limit: 20 })}`);
  fill(
    $('#notices'),
    list.length
      ? list.map((/** @type {any} */ n) =>
          el(
            'li',
            { dataset: { notice: n.id, case: n.caseId } },
            el('span', { class: `badge ${n.kind === 'yellow' ? 'yellow' : 'red'}` }, label(NOTICE_KIND, n.kind)),
            ' ',
            el('a', { href: `#case-${n.caseId}`, class: 'notice-case', onclick: (/** @type {Event} */ ev) => (ev.preventDefault(), void showCase(n.caseId)) }, n.trackingNo),
            ' ',
            n.message,
            el('div', { class: 'muted' }, fmtDateTime(n.createdAt), n.readAt ? ' · 已读' : ''),
            n.readAt
              ? null
              : el(
                  'button',
                  {
                    type: 'button',
                    class: 'small',
                    onclick: async () => {
                      await api.post(`/api/departments/${dept.code}/notices/${n.id}/read`).catch((err) => say(errText(err), 'error'));
                      void loadNotices();
                    },
                  },
                  '标为已读',
                ),
          ),
        )
      : el('li', { class: 'muted' }, '暂无通知'),
  );
}

async function refresh() {
  try {
    await Promise.all([loadSummary(), loadTickets(), loadNotices()]);
  } catch (err) {
    say(errText(err), 'error');
  }
}

/** @param {number} id */
async function showCase(id) {
  selected = id;
  for (const tr of document.querySelectorAll('#tickets tr')) tr.classList.toggle('selected', /** @type {HTMLElement} */ (tr).dataset.id === String(id));
  const box = $('#detail');
  try {
    const k = await api.get(`/api/cases/${id}`);
    const sla = slaClass(k);
    fill(
      box,
      el('h3', { id: 'detail-tracking', tabindex: -1 }, k.trackingNo, ' ', el('span', { class: `badge ${sla}`, id: 'detail-status' }, label(CASE_STATUS, k.status))),
      fields([
        ['标题', k.title],
        ['诉求内容', el('div', { class: 'pre' }, k.description)],
        ['分类', k.categoryName],
        ['紧急程度', label(URGENCY, k.urgency)],
        ['联系人', k.contactName],
        ['联系电话', k.contactPhone],
        ['派单时间', fmtDateTime(k.dispatchedAt)],
        ['签收期限', k.signDeadline ? `${fmtDateTime(k.signDeadline)}（${k.signedAt ? '已签收' : fmtCountdown(k.signDeadline)}）` : null],
        ['办结期限', k.resolveDeadline ? `${fmtDateTime(k.resolveDeadline)}（${fmtCountdown(k.resolveDeadline)}）` : null],
        [
          '延期',
          k.status === 'extension_requested' && k.extensionUntil
            ? `申请延至 ${fmtDateTime(k.extensionUntil)}，待审批（${k.extensionReason ?? ''}）`
            : k.extensionCount > 0
              ? `已延期 ${k.extensionCount} 次`
              : null,
        ],
        ['签收人', k.signedByName],
        ['答复', k.reply ? el('div', { class: 'pre' }, k.reply) : null],
      ]),
      actions(k),
      el('h3', {}, '处理记录'),
      historyList(k.events),
    );
  } catch (err) {
    fill(box, el('p', { class: 'notice notice-error' }, errText(err)));
  }
}

/**
 * The forms this case's status allows.
 * @param {any} k
 */
function actions(k) {
  const s = k.status;
  const box = el('div', { class: 'actions-box' });
  if (s === 'dispatched' || s === 'reopened') {
    box.appendChild(el('div', { class: 'actions' }, el('button', { type: 'button', class: 'primary', id: 'btn-sign', onclick: () => act(k, 'sign') }, '签收')));
  }
  if (['signed', 'in_progress', 'extension_requested'].includes(s)) {
    box.appendChild(form('resolve', '办结：答复市民的办理结果', 'reply', '办结', k, 'textarea', 'primary'));
  }
  if (s === 'signed' || s === 'in_progress') {
    box.appendChild(form('progress', '办理进展', 'note', '保存进展', k, 'textarea'));
    box.appendChild(form('extension', '申请延期（理由）', 'reason', '申请延期', k, 'input', '', true));
  }
  if (['dispatched', 'signed', 'in_progress'].includes(s)) {
    box.appendChild(form('return', '退单理由（如：非本部门职责）', 'reason', '退单', k, 'input', 'danger'));
  }
  return box;
}

/**
 * @param {string} action
 * @param {string} label
 * @param {string} field
 * @param {string} button
 * @param {any} k
 * @param {'input' | 'textarea'} kind
 * @param {string} [cls]
 * @param {boolean} [withDays]
 */
function form(action, label, field, button, k, kind, cls = '', withDays = false) {
  const id = `f-${action}`;
  const input = kind === 'textarea' ? el('textarea', { id: `${id}-${field}`, name: field, maxlength: 5000, required: true }) : el('input', { type: 'text', id: `${id}-${field}`, name: field, maxlength: 2000, required: true });
  const days = withDays ? el('input', { type: 'number', id: `${id}-days`, name: 'days', min: 1, max: 60, value: 3, 'aria-label': '延期工作日数' }) : null;
  const f = el(
    'form',
    { id, class: 'case-action' },
    el('label', { for: `${id}-${field}` }, label),
    input,
    el('div', { class: 'actions' }, days ? el('label', { class: 'inline' }, '延期', days, '个工作日') : null, el('button', { type: 'submit', class: cls }, button)),
  );
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = /** @type {HTMLInputElement} */ (input).value.trim();
    if (!text) return;
    /** @type {Record<string, unknown>} */
    const body = { [field]: text };
    if (days) body.days = Number(/** @type {HTMLInputElement} */ (days).value);
    void act(k, action, body);
  });
  return f;
}

const DONE = /** @type {Record<string, string>} */ ({ sign: '已签收', resolve: '已办结', progress: '办理进展已保存', extension: '延期申请已提交', return: '已退单' });

/**
 * @param {any} k
 * @param {string} action
 * @param {Record<string, unknown>} [body]
 */
async function act(k, action, body) {
  try {
    await api.post(`/api/cases/${k.id}/${action}`, body);
    say(`工单 ${k.trackingNo} ${DONE[action] ?? '已处理'}`, 'ok');
  } catch (err) {
    say(errText(err), 'error');
  }
  await refresh();
  await showCase(k.id);
}

async function claimNext() {
  try {
    const k = await api.post(`/api/departments/${dept.code}/tickets/claim`);
    say(`已签收工单 ${k.trackingNo}`, 'ok');
    await refresh();
    await showCase(k.id);
  } catch (err) {
    if (err instanceof ApiError && err.code === 'queue_empty') say('当前没有待签收的工单', 'info');
    else say(errText(err), 'error');
  }
}

async function main() {
  const me = await signIn({
    allow: (u) => (u.role === 'department_staff' && u.departmentId ? null : '该账号不是部门工作人员，不能使用部门工单办理页面'),
  });
  const departments = await api.get('/api/departments');
  const d = departments.find((/** @type {any} */ x) => x.id === me.departmentId);
  if (!d) return say('找不到您所在的部门', 'error');
  dept = { code: d.code, name: d.name };
  fill($('#dept-name'), `· ${d.name}`);
  fill($('#who'), `${me.displayName}（${me.username}）`);
  $('#btn-signout').hidden = false;
  $('#workspace').hidden = false;
  $('#btn-claim').addEventListener('click', claimNext);
  $('#btn-refresh').addEventListener('click', refresh);
  $('#only-mine').addEventListener('change', () => void loadTickets().catch((err) => say(errText(err), 'error')));
  await refresh();
  setInterval(refresh, 30000);
}

main().catch((err) => say(errText(err), 'error'));
