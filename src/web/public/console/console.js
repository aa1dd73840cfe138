// @ts-check
// Agent console: seat state, the screen pop over the console WebSocket, call notes, knowledge search,
// case creation with dispatch, and the callback list with click-to-call.
import {
  $, el, fill, apiClient, tokenStore, signIn, notifier, fmtDateTime, fmtDuration, fmtClock, fillCategorySelect,
  markedText, qs, ApiError, AGENT_STATES, STATUS_LABELS,
} from '../assets/common.js';

const store = tokenStore('console');
const api = apiClient(() => store.get());
const say = notifier($('#message'));

/** Exposed for end-to-end tests and troubleshooting: when the last pop was drawn, socket state. */
const probe = /** @type {{ poppedAt: number | null, wsOpen: boolean, pops: number }} */ ({ poppedAt: null, wsOpen: false, pops: 0 });
/** @type {any} */ (window).__h114 = probe;

/**
 * The call on the card.
 * @type {{ callId: string, phase: 'ringing' | 'connected' | 'wrapup', callerNumber: string, connectedAt: number | null, endedAt: number | null } | null}
 */
let call = null;
/** @type {ReturnType<typeof setInterval> | undefined} */
let timer;

// ---------------------------------------------------------------- seat state

/**
 * @param {string} state
 * @param {string | null} [reason]
 */
function showAgentState(state, reason) {
  const badge = $('#agent-state');
  badge.textContent = AGENT_STATES[state] ?? state;
  badge.className = `badge ${state}`;
  badge.dataset.state = state;
  $('#agent-reason').textContent = reason ? `（${reason}）` : '';
  /** @type {HTMLButtonElement} */ ($('#btn-login')).disabled = state !== 'offline';
  /** @type {HTMLButtonElement} */ ($('#btn-ready')).disabled = state === 'offline' || state === 'ready';
  /** @type {HTMLButtonElement} */ ($('#btn-pause')).disabled = state === 'offline' || state === 'paused';
  /** @type {HTMLButtonElement} */ ($('#btn-logout')).disabled = state === 'offline';
}

/**
 * @param {string} path
 * @param {unknown} [body]
 */
async function seat(path, body) {
  try {
    const view = await api.post(`/api/agents/me/${path}`, body);
    showAgentState(view.state, view.pendingPause ? `通话结束后暂停：${view.pendingPause}` : view.reason);
  } catch (err) {
    say(errText(err), 'error');
  }
}

/** The seat state after a call (wrap-up, then ready or a pause that was requested during the call). */
async function refreshAgentState() {
  try {
    const view = await api.get('/api/agents/me');
    showAgentState(view.state, view.reason);
    if (view.state === 'wrap_up' && view.wrapUntil) setTimeout(refreshAgentState, Math.max(200, view.wrapUntil - Date.now() + 200));
  } catch {
    /* the next agent.state message will tell */
  }
}

// ---------------------------------------------------------------- screen pop

/** @param {any} m call.offered */
function onOffered(m) {
  call = { callId: m.callId, phase: 'ringing', callerNumber: m.callerNumber, connectedAt: null, endedAt: null };
  const c = m.caller;
  fill($('#caller-name'), c?.name || '未登记来电人');
  $('#caller-vip').hidden = !c?.vip;
  fill($('#caller-number'), m.callerNumber || '未知号码');
  fill($('#caller-address'), [c?.district, c?.address].filter(Boolean).join(' ') || '—');
  fill($('#caller-wait'), fmtDuration(m.queueWaitMs));
  fill($('#caller-note'), c?.note || '—');
  fill(
    $('#recent-calls'),
    m.recentCalls?.length
      ? m.recentCalls.map((/** @type {any} */ r) =>
          el(
            'li',
            {},
            el('div', {}, fmtDateTime(r.startedAt), ' · ', r.category || '未分类', ' · ', r.agentName || '—', ' · ', outcomeLabel(r.outcome)),
            r.noteExcerpt ? el('div', { class: 'muted pre' }, r.noteExcerpt) : null,
          ),
        )
      : el('li', { class: 'muted' }, '无历史来电'),
  );
  fill(
    $('#open-cases'),
    m.openCases?.length
      ? m.openCases.map((/** @type {any} */ k) =>
          el(
            'li',
            {},
            el('div', {}, el('strong', {}, k.trackingNo), ' ', el('span', { class: 'badge' }, STATUS_LABELS[k.status] ?? k.status)),
            el('div', {}, k.title),
            el('div', { class: 'muted' }, k.departmentName || '未派单', ' · ', fmtDateTime(k.createdAt)),
          ),
        )
      : el('li', { class: 'muted' }, '无未办结工单'),
  );
  $('#caller').hidden = false;
  fill($('#notes'));
  fill($('#case-result'));
  /** @type {HTMLFormElement} */ ($('#note-form')).reset();
  /** @type {HTMLFormElement} */ ($('#case-form')).reset();
  setPhase('ringing');
  showAgentState('reserved');
  probe.poppedAt = Date.now();
  probe.pops += 1;
}

/** @param {any} m call.connected */
function onConnected(m) {
  if (!call || call.callId !== m.callId) return;
  call.connectedAt = Date.now();
  setPhase('connected');
  showAgentState('busy');
}

/** @param {any} m call.ended */
function onEnded(m) {
  if (!call || call.callId !== m.callId) return;
  void refreshAgentState();
  if (m.outcome === 'answered' || call.connectedAt) {
    call.endedAt = Date.now();
    setPhase('wrapup');
    return;
  }
  // Rang here but never connected: the phone was not answered, or the caller hung up first.
  const why = m.outcome === 'abandoned' ? '来电人已挂机' : m.reason === 'no_answer' ? '振铃未接' : '未接通';
  addMissed(call.callerNumber, why);
  say(`来电 ${call.callerNumber} ${why}`, 'info');
  clearCall();
}

/** @param {'idle' | 'ringing' | 'connected' | 'wrapup'} phase */
function setPhase(phase) {
  if (call && phase !== 'idle') call.phase = phase;
  const card = $('#call-card');
  card.dataset.phase = phase;
  const label = { idle: '空闲，等待来电', ringing: '来电振铃', connected: '通话中', wrapup: '话后整理' }[phase];
  $('#call-phase').textContent = label;
  clearInterval(timer);
  const t = $('#call-timer');
  t.textContent = '';
  if (phase === 'connected') {
    const tick = () => (t.textContent = call?.connectedAt ? fmtClock(Date.now() - call.connectedAt) : '');
    tick();
    timer = setInterval(tick, 1000);
  } else if (phase === 'wrapup' && call?.connectedAt && call.endedAt) {
    t.textContent = `通话时长 ${fmtClock(call.endedAt - call.connectedAt)}`;
  }
  $('#btn-hangup').hidden = phase !== 'connected' && phase !== 'ringing';
  $('#btn-wrapup-done').hidden = phase !== 'wrapup';
  const haveCall = phase !== 'idle';
  /** @type {HTMLButtonElement} */ ($('#btn-save-note')).disabled = !haveCall;
  /** @type {HTMLButtonElement} */ ($('#btn-create-case')).disabled = !haveCall;
}

function clearCall() {
  call = null;
  $('#caller').hidden = true;
  setPhase('idle');
}

/**
 * @param {string} number
 * @param {string} why
 */
function addMissed(number, why) {
  const list = $('#missed');
  if (list.querySelector('.muted')) fill(list);
  list.prepend(el('li', {}, el('strong', {}, number || '未知号码'), ' ', el('span', { class: 'muted' }, `${fmtDateTime(Date.now())} · ${why}`)));
}

/** @param {string | null} o */
function outcomeLabel(o) {
  return { answered: '已接听', abandoned: '放弃', failed: '失败', missed: '未接' }[o ?? ''] ?? (o || '—');
}

/** After a reconnect in the middle of a call, the hello names it: show it again. */
async function restoreCall(/** @type {string} */ callId) {
  if (call?.callId === callId) return;
  try {
    const d = await api.get(`/api/calls/${callId}`);
    onOffered({ callId, callerNumber: d.callerNumber, caller: d.callerName ? { name: d.callerName } : null, recentCalls: [], openCases: [], queueWaitMs: d.waitMs });
    if (d.state === 'connected') onConnected({ callId });
    fill($('#notes'), d.notes.map(noteItem));
  } catch {
    /* the call may be over already */
  }
}

// ---------------------------------------------------------------- WebSocket with backoff

let attempts = 0;
/** @type {WebSocket | null} */
let socket = null;
/** @type {ReturnType<typeof setInterval> | undefined} */
let pinger;

function connect() {
  const token = store.get();
  if (!token) return;
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/agents/ws?token=${encodeURIComponent(token)}`;
  const ws = new WebSocket(url);
  socket = ws;
  ws.addEventListener('open', () => {
    attempts = 0;
    probe.wsOpen = true;
    $('#ws-banner').hidden = true;
    pinger = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('ping'), 20000);
  });
  ws.addEventListener('message', (ev) => {
    /** @type {any} */
    let m;
    try {
      m = JSON.parse(String(ev.data));
    } catch {
      return;
    }
    switch (m.type) {
      case 'hello':
        showAgentState(m.state, m.reason);
        if (m.callId) void restoreCall(m.callId);
        break;
      case 'call.offered':
        onOffered(m);
        break;
      case 'call.connected':
        onConnected(m);
        break;
      case 'call.ended':
        onEnded(m);
        break;
      case 'agent.state':
        showAgentState(m.state, m.reason);
        break;
    }
  });
  ws.addEventListener('close', (ev) => {
    clearInterval(pinger);
    probe.wsOpen = false;
    if (socket !== ws) return;
    socket = null;
    if (ev.code === 4401) {
      store.clear();
      say('登录已失效，请重新登录', 'error');
      setTimeout(() => location.reload(), 1500);
      return;
    }
    attempts += 1;
    const delay = Math.min(15000, 500 * 2 ** Math.min(attempts - 1, 5)) * (0.8 + Math.random() * 0.4);
    const banner = $('#ws-banner');
    banner.textContent = `与服务器的实时连接已断开，${Math.ceil(delay / 1000)} 秒后第 ${attempts} 次重连……断开期间来电无法弹屏`;
    banner.hidden = false;
    setTimeout(connect, delay);
  });
}

// ---------------------------------------------------------------- notes, case, knowledge, callbacks

/** @param {any} n */
function noteItem(n) {
  return el(
    'li',
    {},
    el('div', { class: 'muted' }, fmtDateTime(n.createdAt), ' · ', n.authorName, n.categoryName ? ` · ${n.categoryName}` : '', n.resolved ? ' · 当场解决' : ''),
    el('div', { class: 'pre' }, n.content),
  );
}

async function saveNote(/** @type {SubmitEvent} */ ev) {
  ev.preventDefault();
  if (!call) return;
  const form = /** @type {HTMLFormElement} */ (ev.target);
  const content = /** @type {HTMLTextAreaElement} */ ($('#note-content')).value.trim();
  const categoryId = /** @type {HTMLSelectElement} */ ($('#note-category')).value;
  const resolved = /** @type {HTMLInputElement} */ ($('#note-resolved')).checked;
  if (!content) return say('请填写小结内容', 'error');
  try {
    const note = await api.post(`/api/calls/${call.callId}/notes`, { content, resolved, ...(categoryId ? { categoryId: Number(categoryId) } : {}) });
    $('#notes').prepend(noteItem(note));
    form.reset();
    /** @type {HTMLSelectElement} */ ($('#note-category')).value = categoryId;
    say('小结已保存', 'ok');
  } catch (err) {
    say(errText(err), 'error');
  }
}

async function createCase(/** @type {SubmitEvent} */ ev) {
  ev.preventDefault();
  if (!call) return;
  const f = /** @type {HTMLFormElement} */ (ev.target);
  const v = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (f.elements.namedItem(name)).value.trim();
  const categoryId = /** @type {HTMLSelectElement} */ ($('#note-category')).value;
  const body = {
    ...(v('title') ? { title: v('title') } : {}),
    ...(v('description') ? { description: v('description') } : {}),
    ...(v('departmentCode') ? { departmentCode: v('departmentCode') } : {}),
    ...(categoryId ? { categoryId: Number(categoryId) } : {}),
    urgency: v('urgency') || 'normal',
  };
  try {
    const k = await api.post(`/api/calls/${call.callId}/case`, body);
    fill(
      $('#case-result'),
      el(
        'div',
        { class: 'notice notice-ok', id: 'case-created' },
        '已创建工单 ',
        el('strong', { class: 'tracking-no' }, k.trackingNo),
        `，${k.statusLabel}`,
        k.departmentName ? `，派往 ${k.departmentName}` : '',
      ),
    );
    f.reset();
  } catch (err) {
    say(errText(err), 'error');
  }
}

async function searchKnowledge(/** @type {SubmitEvent} */ ev) {
  ev.preventDefault();
  const q = /** @type {HTMLInputElement} */ ($('#kb-q')).value.trim();
  if (!q) return;
  const box = $('#kb-results');
  fill(box, el('p', { class: 'muted' }, '检索中……'));
  try {
    const r = await api.get(`/api/search${qs({ q, types: 'knowledge', limit: 10 })}`);
    if (!r.items.length) return fill(box, el('p', { class: 'muted' }, `没有找到与“${q}”相关的知识`));
    fill(
      box,
      el('p', { class: 'muted' }, `共 ${r.total} 条`),
      r.items.map((/** @type {any} */ it) => {
        const body = el('div', { class: 'pre' });
        const d = el('details', { class: 'guide' }, el('summary', {}, markedText(it.titleHtml)), el('div', { class: 'muted' }, markedText(it.snippet)), body);
        d.addEventListener('toggle', async () => {
          if (!(/** @type {HTMLDetailsElement} */ (d).open) || body.textContent) return;
          try {
            const a = await api.get(`/api/knowledge/${it.id}`);
            fill(body, a.body);
          } catch (err) {
            fill(body, errText(err));
          }
        });
        return d;
      }),
    );
  } catch (err) {
    fill(box, el('p', { class: 'notice notice-error' }, errText(err)));
  }
}

async function loadCallbacks() {
  const box = $('#callbacks');
  try {
    const list = await api.get(`/api/callbacks${qs({ limit: 20 })}`);
    if (!list.length) return fill(box, el('p', { class: 'muted' }, '暂无待回访工单'));
    fill(box, el('ul', { class: 'list' }, list.map(callbackItem)));
  } catch (err) {
    fill(box, el('p', { class: err instanceof ApiError && err.status === 404 ? 'muted' : 'notice notice-error' }, errText(err)));
  }
}

/** @param {any} k */
function callbackItem(k) {
  const sat = el(
    'select',
    { 'aria-label': '满意度' },
    el('option', { value: 'satisfied' }, '满意'),
    el('option', { value: 'basically_satisfied' }, '基本满意'),
    el('option', { value: 'unsatisfied' }, '不满意'),
  );
  const solved = el('input', { type: 'checkbox', checked: true });
  const li = el(
    'li',
    {},
    el('div', {}, el('strong', {}, k.trackingNo), ' ', el('span', { class: 'badge' }, k.statusLabel)),
    el('div', {}, k.title),
    el('div', { class: 'muted' }, k.contactName || '市民', ' ', k.contactPhone || '', ' · ', k.departmentName || '—', ' · 办结于 ', fmtDateTime(k.resolvedAt)),
    k.reply ? el('div', { class: 'pre' }, '答复：', k.reply) : null,
    el(
      'div',
      { class: 'actions' },
      el('button', { type: 'button', class: 'small primary', onclick: () => clickToCall(k) }, '外呼回访'),
      sat,
      el('label', { class: 'inline' }, solved, '已解决'),
      el(
        'button',
        {
          type: 'button',
          class: 'small',
          onclick: async () => {
            try {
              await api.post(`/api/cases/${k.id}/callback`, { solved: /** @type {HTMLInputElement} */ (solved).checked, satisfaction: /** @type {HTMLSelectElement} */ (sat).value });
              say(`工单 ${k.trackingNo} 回访结果已记录`, 'ok');
              li.remove();
            } catch (err) {
              say(errText(err), 'error');
            }
          },
        },
        '记录回访结果',
      ),
    ),
  );
  return li;
}

/** @param {any} k */
async function clickToCall(k) {
  try {
    await api.post(`/api/cases/${k.id}/callback/call`);
    say(`正在呼叫您的分机，接听后自动拨打市民 ${k.contactPhone ?? ''}`, 'ok');
  } catch (err) {
    say(errText(err), 'error');
  }
}

/** @param {unknown} err */
function errText(err) {
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------- start

async function main() {
  const me = await signIn({
    page: 'console',
    store,
    form: /** @type {HTMLFormElement} */ ($('#signin')),
    message: $('#message'),
    allow: (u) => (u.agentId === null ? '该账号没有坐席分机，不能使用坐席工作台' : null),
  });
  fill($('#who'), `${me.displayName}（${me.username}）`);
  $('#seat-controls').hidden = false;
  $('#btn-signout').hidden = false;
  $('#workspace').hidden = false;
  setPhase('idle');

  $('#btn-login').addEventListener('click', () => seat('login', {}));
  $('#btn-ready').addEventListener('click', () => seat('ready'));
  $('#btn-pause').addEventListener('click', () => seat('pause', { reason: /** @type {HTMLSelectElement} */ ($('#pause-reason')).value }));
  $('#btn-logout').addEventListener('click', () => seat('logout'));
  $('#btn-signout').addEventListener('click', () => {
    store.clear();
    location.reload();
  });
  $('#btn-wrapup-done').addEventListener('click', clearCall);
  $('#btn-hangup').addEventListener('click', async () => {
    if (!call) return;
    try {
      await api.post(`/api/calls/${call.callId}/hangup`);
    } catch (err) {
      say(errText(err), 'error');
    }
  });
  $('#note-form').addEventListener('submit', saveNote);
  $('#case-form').addEventListener('submit', createCase);
  $('#kb-form').addEventListener('submit', searchKnowledge);
  $('#btn-callbacks').addEventListener('click', loadCallbacks);

  connect();

  const [categories, departments] = await Promise.all([api.get('/api/categories').catch(() => []), api.get('/api/departments').catch(() => [])]);
  fillCategorySelect(/** @type {HTMLSelectElement} */ ($('#note-category')), categories);
  fill(
    $('#case-department'),
    el('option', { value: '' }, '暂不派单（留给派单员）'),
    departments.map((/** @type {any} */ d) => el('option', { value: d.code }, d.name)),
  );
  void loadCallbacks();
}

main().catch((err) => say(errText(err), 'error'));
