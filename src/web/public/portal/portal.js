// @ts-check
// Resident portal (no sign-in): submit a help request, look up its status by tracking number + the last four
// digits of the phone, read published service guides.
import { $, el, fill, apiClient, notifier, fmtDateTime, fields, qs } from '../assets/common.js';

const api = apiClient({ public: true });
const say = notifier($('#message'));
/** @param {unknown} err */
const errText = (err) => (err instanceof Error ? err.message : String(err));

async function loadCategories() {
  const list = await api.get('/api/public/categories');
  const select = $('#req-category');
  fill(select, el('option', { value: '' }, '（请选择）'));
  /** @type {Map<string, HTMLElement>} */
  const groups = new Map();
  for (const c of list) {
    const option = el('option', { value: c.code }, c.name);
    if (!c.group) {
      select.appendChild(option);
      continue;
    }
    let g = groups.get(c.group);
    if (!g) {
      g = el('optgroup', { label: c.group });
      groups.set(c.group, g);
      select.appendChild(g);
    }
    g.appendChild(option);
  }
}

async function submitRequest(/** @type {SubmitEvent} */ ev) {
  ev.preventDefault();
  const f = /** @type {HTMLFormElement} */ (ev.target);
  const v = (/** @type {string} */ n) => /** @type {HTMLInputElement} */ (f.elements.namedItem(n)).value.trim();
  const body = {
    category: v('category'),
    description: v('description'),
    location: v('location'),
    ...(v('name') ? { name: v('name') } : {}),
    ...(v('phone') ? { phone: v('phone') } : {}),
  };
  const button = /** @type {HTMLButtonElement} */ ($('#btn-submit'));
  button.disabled = true;
  // A success box from an earlier submission must not stay next to a new attempt (it would read as this one's).
  fill($('#submitted'));
  try {
    const r = await api.post('/api/public/requests', body);
    fill(
      $('#submitted'),
      el(
        'div',
        { class: 'notice notice-ok', id: 'request-accepted' },
        el('div', {}, r.message),
        el('div', {}, '受理编号：', el('span', { class: 'tracking', id: 'new-tracking-no' }, r.trackingNo)),
        r.lookupCode ? el('div', {}, '查询码：', el('strong', { id: 'new-lookup-code' }, r.lookupCode), '（未留电话，请牢记此查询码）') : null,
      ),
    );
    f.reset();
  } catch (err) {
    fill($('#submitted'), el('p', { class: 'notice notice-error', id: 'request-failed' }, errText(err), '。您填写的内容仍在表单中，可稍后重新提交。'));
    say(errText(err), 'error');
  } finally {
    button.disabled = false;
  }
}

async function lookup(/** @type {SubmitEvent} */ ev) {
  ev.preventDefault();
  const trackingNo = /** @type {HTMLInputElement} */ ($('#lk-tracking')).value.trim();
  const last4 = /** @type {HTMLInputElement} */ ($('#lk-last4')).value.trim();
  const box = $('#status');
  fill(box, el('p', { class: 'muted' }, '查询中……')); // an earlier result never stays beside a new query
  try {
    // Four digits are the phone's last four; anything else is a lookup code (ABCD-EFGH-JK).
    const secret = /^[0-9]{4}$/.test(last4) ? { phoneLast4: last4 } : { code: last4 };
    const r = await api.get(`/api/public/requests/${encodeURIComponent(trackingNo)}${qs(secret)}`);
    fill(
      box,
      el('h3', {}, r.trackingNo, ' ', el('span', { class: `badge ${r.reply ? 'ok' : ''}`, id: 'status-label' }, r.statusLabel)),
      fields([
        ['类别', r.categoryName],
        ['承办部门', r.departmentName],
        ['提交时间', fmtDateTime(r.submittedAt)],
        ['办结时间', r.resolvedAt ? fmtDateTime(r.resolvedAt) : null],
        ['办理结果', r.reply ? el('div', { class: 'pre', id: 'status-reply' }, r.reply) : '尚未办结'],
        ['合并至', r.mergedInto],
      ]),
      el('h3', {}, '办理过程'),
      el(
        'ol',
        { class: 'history' },
        r.history.map((/** @type {any} */ h) => el('li', {}, el('time', {}, fmtDateTime(h.at)), ' ', h.statusLabel)),
      ),
      r.mergedCase ? mergedProgress(r.mergedCase) : null,
    );
  } catch (err) {
    fill(box, el('p', { class: 'notice notice-error' }, errText(err)));
  }
}

/** 并单: the request is handled together with another case; the resident follows that case's progress. */
function mergedProgress(/** @type {any} */ m) {
  return el(
    'section',
    { id: 'merged-progress' },
    el('h3', {}, '已与工单 ', m.trackingNo, ' 合并办理 ', el('span', { class: `badge ${m.reply ? 'ok' : ''}` }, m.statusLabel)),
    fields([
      ['承办部门', m.departmentName],
      ['办结时间', m.resolvedAt ? fmtDateTime(m.resolvedAt) : null],
      ['办理结果', m.reply ? el('div', { class: 'pre' }, m.reply) : '尚未办结'],
    ]),
    el('ol', { class: 'history' }, m.history.map((/** @type {any} */ h) => el('li', {}, el('time', {}, fmtDateTime(h.at)), ' ', h.statusLabel))),
  );
}

async function loadGuides(/** @type {Event} */ ev) {
  ev?.preventDefault();
  const q = /** @type {HTMLInputElement} */ ($('#guide-q')).value.trim();
  const kind = /** @type {HTMLSelectElement} */ ($('#guide-kind')).value;
  const box = $('#guides');
  try {
    const r = await api.get(`/api/public/knowledge${qs({ q, kind, limit: 20 })}`);
    if (!r.items.length) return fill(box, el('p', { class: 'muted' }, q ? `没有找到与“${q}”相关的内容` : '暂无已发布的内容'));
    fill(
      box,
      r.items.map((/** @type {any} */ a) =>
        el(
          'details',
          { class: 'guide' },
          el('summary', {}, a.title, ' ', el('span', { class: 'badge' }, a.kindLabel)),
          el('div', { class: 'muted' }, a.departmentName ?? '', a.departmentName ? ' · ' : '', '发布于 ', fmtDateTime(a.publishedAt)),
          el('div', { class: 'pre' }, a.body),
        ),
      ),
    );
  } catch (err) {
    fill(box, el('p', { class: 'notice notice-error' }, errText(err)));
  }
}

$('#request-form').addEventListener('submit', submitRequest);
$('#lookup-form').addEventListener('submit', lookup);
$('#guide-form').addEventListener('submit', loadGuides);
loadCategories().catch((err) => say(errText(err), 'error'));
void loadGuides(new Event('load'));
