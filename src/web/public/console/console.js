// @ts-check
// Agent console: seat state, the screen pop over the console WebSocket, one-key transfer / three-way / 110 on a
// connected call (following transfer.progress), call notes, knowledge search, case creation with dispatch, the
// case callback list and the missed-call list (/api/missed-calls) with click-to-call and result recording.
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
 * @type {{ callId: string, phase: 'ringing' | 'connected' | 'wrapup', callerNumber: string, connectedAt: number | null, endedAt: number | null, callback: boolean } | null}
 */
let call = null;
/**
 * The transfer under way on the call (from the POST, then transfer.progress).
 * @type {{ mode: 'blind' | 'three_way', target: string, status: string, police: boolean } | null}
 */
let transfer = null;
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
  call = { callId: m.callId, phase: 'ringing', callerNumber: m.callerNumber, connectedAt: null, endedAt: null, callback: m.callback === true };
  transfer = null;
  const c = m.caller;
  fill($('#caller-name'), c?.name || '未登记来电人');
  $('#caller-vip').hidden = !c?.vip;
  $('#caller-callback').hidden = !m.callback;
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
    if (m.reason === 'transferred' && transfer) {
      transfer.status = 'done';
      showTransfer(`已转接 ${transfer.target}，您已退出通话`);
    }
    return;
  }
  // Rang here but never connected: the phone was not answered, or the caller hung up first.
  const why = m.outcome === 'abandoned' ? '来电人已挂机' : m.reason === 'no_answer' ? '振铃未接' : '未接通';
  say(`来电 ${call.callerNumber} ${why}`, 'info');
  clearCall();
  setTimeout(loadMissed, 500); // an abandoned call opens a missed-call entry
}

/** @param {'idle' | 'ringing' | 'connected' | 'wrapup'} phase */
function setPhase(phase) {
  if (call && phase !== 'idle') call.phase = phase;
  const card = $('#call-card');
  card.dataset.phase = phase;
  const label = { idle: '空闲，等待来电', ringing: call?.callback ? '回拨来电振铃（接听后自动拨打市民）' : '来电振铃', connected: '通话中', wrapup: '话后整理' }[phase];
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
  $('#transfer').hidden = phase !== 'connected' && !(phase === 'wrapup' && transfer);
  if (phase !== 'connected') $('#police-confirm').hidden = true;
  updateTransferButtons();
  const haveCall = phase !== 'idle';
  /** @type {HTMLButtonElement} */ ($('#btn-save-note')).disabled = !haveCall;
  /** @type {HTMLButtonElement} */ ($('#btn-create-case')).disabled = !haveCall;
}

function clearCall() {
  call = null;
  transfer = null;
  showTransfer('');
  $('#caller').hidden = true;
  setPhase('idle');
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
      case 'transfer.progress':
        onTransferProgress(m);
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

// ---------------------------------------------------------------- transfer, three-way, 110

const TRANSFER_FAIL = /** @type {Record<string, string>} */ ({
  busy: '对方忙',
  no_answer: '无人接听',
  noanswer: '无人接听',
  congestion: '线路拥塞',
  failed: '呼叫失败',
  unavailable: '对方不可达',
  cancelled: '已取消',
  timeout: '无人接听',
});

/** @param {string} text */
function showTransfer(text) {
  fill($('#transfer-status'), text);
  updateTransferButtons();
}

function updateTransferButtons() {
  const connected = call?.phase === 'connected';
  const busy = !!transfer && ['requested', 'ringing', 'answered'].includes(transfer.status);
  for (const id of ['#btn-transfer-blind', '#btn-transfer-3way', '#btn-police', '#transfer-dept']) {
    /** @type {HTMLButtonElement} */ ($(id)).disabled = !connected || busy;
  }
  const threeWay = transfer?.mode === 'three_way' && connected;
  $('#btn-transfer-complete').hidden = !(threeWay && transfer?.status === 'answered');
  $('#btn-transfer-cancel').hidden = !(threeWay && (transfer?.status === 'ringing' || transfer?.status === 'answered' || transfer?.status === 'requested'));
}

/**
 * @param {'blind' | 'three_way'} mode
 * @param {{ departmentCode: string } | { police: true }} target
 */
async function startTransfer(mode, target) {
  if (!call || call.phase !== 'connected') return;
  const police = 'police' in target;
  const select = /** @type {HTMLSelectElement} */ ($('#transfer-dept'));
  const name = police ? '110' : (select.selectedOptions[0]?.textContent ?? '');
  if (!police && !target.departmentCode) return say('请先选择转接部门', 'error');
  transfer = { mode, target: name, status: 'requested', police };
  $('#police-confirm').hidden = true;
  showTransfer(`正在${mode === 'blind' ? '转接' : '邀请'} ${name}……`);
  try {
    const r = await api.post(`/api/calls/${call.callId}/transfer`, { mode, ...target });
    if (transfer && transfer.status === 'requested' && call?.phase === 'connected') {
      transfer.target = r.target;
      showTransfer(`正在呼叫 ${r.target}……${mode === 'blind' ? '接通后来电人与对方通话' : '对方接听后进入三方通话'}`);
    }
    if (police) say('已发起 110 联动，该通话已标记为紧急警情', 'ok');
  } catch (err) {
    transfer = null;
    showTransfer('');
    say(errText(err), 'error');
  }
}

/** @param {any} m transfer.progress */
function onTransferProgress(m) {
  // Once the agent is out of the call (blind transfer, left the three-way), later progress is not theirs to follow.
  if (!call || call.callId !== m.callId || call.phase !== 'connected') return;
  const police = transfer?.police ?? false;
  transfer = { mode: m.mode, target: m.target, status: m.status, police };
  const who = m.target;
  switch (m.status) {
    case 'ringing':
      showTransfer(`正在呼叫 ${who}……`);
      break;
    case 'answered':
      showTransfer(m.mode === 'three_way' ? `${who} 已接听，三方通话中。介绍完情况后请点击“退出三方”` : `${who} 已接听`);
      break;
    case 'failed': {
      const why = TRANSFER_FAIL[m.reason ?? ''] ?? m.reason ?? '未接通';
      showTransfer(`转接 ${who} 未成功（${why}）${m.mode === 'blind' ? '，来电将回到您的坐席' : '，请继续与来电人通话'}`);
      say(`转接 ${who} 未成功：${why}`, 'error');
      break;
    }
    case 'completed':
      showTransfer(`已退出三方通话，来电人继续与 ${who} 通话`);
      break;
    case 'left':
      showTransfer(`${who} 已离开三方通话`);
      break;
    default:
      showTransfer(`${who}：${m.status}`);
  }
}

/** @param {'complete' | 'cancel'} action */
async function transferAction(action) {
  if (!call) return;
  try {
    await api.post(`/api/calls/${call.callId}/transfer/${action}`);
    if (action === 'cancel') {
      const who = transfer?.target ?? '';
      transfer = null;
      showTransfer(`已取消转接 ${who}，请继续与来电人通话`);
    }
  } catch (err) {
    say(errText(err), 'error');
  }
}

// ---------------------------------------------------------------- missed calls (回拨)

const MISSED_REASONS = /** @type {Record<string, string>} */ ({ abandoned: '排队中挂机', failed: '系统未能接通' });
const ATTEMPT_RESULTS = /** @type {Record<string, string>} */ ({
  connected: '已接通',
  answered: '已接通',
  no_answer: '无人接听',
  busy: '忙',
  failed: '呼叫失败',
  agent_no_answer: '坐席未接听',
  cancelled: '已取消',
});
const DONE_RESULTS = /** @type {[string, string][]} */ ([
  ['reached', '已联系上'],
  ['no_answer', '无人接听（保留待回拨）'],
  ['invalid_number', '空号/错号（关闭）'],
  ['not_needed', '无需回拨（关闭）'],
]);

async function loadMissed() {
  const list = $('#missed');
  try {
    const r = await api.get(`/api/missed-calls${qs({ status: 'open', limit: 30 })}`);
    fill($('#missed-total'), r.total ? `待回拨 ${r.total} 个号码，点击“回拨”先呼叫您的分机，接听后自动拨打市民。` : '');
    fill(list, r.items.length ? r.items.map(missedItem) : el('li', { class: 'muted' }, '暂无待回拨的未接来电'));
  } catch (err) {
    fill(list, el('li', { class: 'notice notice-error' }, errText(err)));
  }
}

/** @param {any} m */
function missedItem(m) {
  const result = el('select', { 'aria-label': '回拨结果' }, DONE_RESULTS.map(([v, label]) => el('option', { value: v }, label)));
  const note = el('input', { type: 'text', maxlength: 1000, placeholder: '备注（可不填）', 'aria-label': '回拨备注' });
  const li = el(
    'li',
    { dataset: { missed: m.id } },
    el('div', {}, el('strong', {}, m.number), m.callerName ? ` ${m.callerName}` : '', ' ', el('span', { class: 'badge' }, MISSED_REASONS[m.reason] ?? m.reason)),
    el(
      'div',
      { class: 'muted' },
      `最近 ${fmtDateTime(m.lastMissedAt)} · 未接 ${m.missedCount} 次 · 等待 ${fmtDuration(m.waitedMs)}`,
      m.attempts ? ` · 已回拨 ${m.attempts} 次${m.lastAttemptResult ? `（${ATTEMPT_RESULTS[m.lastAttemptResult] ?? m.lastAttemptResult}）` : ''}` : '',
    ),
    m.note ? el('div', { class: 'pre' }, '备注：', m.note) : null,
    el(
      'div',
      { class: 'actions' },
      el('button', { type: 'button', class: 'small primary', dataset: { action: 'call' }, onclick: () => callMissed(m) }, '回拨'),
      result,
      note,
      el(
        'button',
        {
          type: 'button',
          class: 'small',
          dataset: { action: 'done' },
          onclick: async () => {
            const text = /** @type {HTMLInputElement} */ (note).value.trim();
            try {
              const after = await api.post(`/api/missed-calls/${m.id}/done`, { result: /** @type {HTMLSelectElement} */ (result).value, ...(text ? { note: text } : {}) });
              say(`${m.number} 回拨结果已登记`, 'ok');
              if (after.status === 'open') li.replaceWith(missedItem(after));
              else li.remove();
              if (!$('#missed').children.length) void loadMissed();
            } catch (err) {
              say(errText(err), 'error');
            }
          },
        },
        '登记结果',
      ),
    ),
  );
  return li;
}

/** @param {any} m */
async function callMissed(m) {
  try {
    const r = await api.post(`/api/missed-calls/${m.id}/call`);
    say(`正在呼叫您的分机（${r.agentEndpoint}），接听后自动拨打 ${m.number}`, 'ok');
    const li = $('#missed').querySelector(`li[data-missed="${m.id}"]`);
    li?.replaceWith(missedItem(r.entry));
  } catch (err) {
    say(errText(err), 'error');
  }
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
  $('#btn-missed').addEventListener('click', loadMissed);
  $('#btn-transfer-blind').addEventListener('click', () => startTransfer('blind', { departmentCode: /** @type {HTMLSelectElement} */ ($('#transfer-dept')).value }));
  $('#btn-transfer-3way').addEventListener('click', () => startTransfer('three_way', { departmentCode: /** @type {HTMLSelectElement} */ ($('#transfer-dept')).value }));
  $('#btn-transfer-complete').addEventListener('click', () => transferAction('complete'));
  $('#btn-transfer-cancel').addEventListener('click', () => transferAction('cancel'));
  $('#btn-police').addEventListener('click', () => {
    $('#police-confirm').hidden = false;
    /** @type {HTMLButtonElement} */ ($('#btn-police-cancel')).focus();
  });
  $('#btn-police-cancel').addEventListener('click', () => ($('#police-confirm').hidden = true));
  $('#btn-police-blind').addEventListener('click', () => startTransfer('blind', { police: true }));
  $('#btn-police-3way').addEventListener('click', () => startTransfer('three_way', { police: true }));

  connect();

  const [categories, departments] = await Promise.all([api.get('/api/categories').catch(() => []), api.get('/api/departments').catch(() => [])]);
  fillCategorySelect(/** @type {HTMLSelectElement} */ ($('#note-category')), categories);
  fill(
    $('#case-department'),
    el('option', { value: '' }, '暂不派单（留给派单员）'),
    departments.map((/** @type {any} */ d) => el('option', { value: d.code }, d.name)),
  );
  fill(
    $('#transfer-dept'),
    el('option', { value: '' }, '（选择部门）'),
    departments.map((/** @type {any} */ d) => el('option', { value: d.code }, d.name)),
  );
  void loadCallbacks();
  void loadMissed();
  // Refreshed now and then, but not while the agent is typing a result into the list.
  setInterval(() => !$('#missed').contains(document.activeElement) && loadMissed(), 30000);
}

main().catch((err) => say(errText(err), 'error'));
