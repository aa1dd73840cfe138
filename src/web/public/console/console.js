// @ts-check
// Agent console: seat state, the screen pop over the console WebSocket with a ring alert (tone, desktop
// notification, title flash) until the call is answered, one call bar with every call control (enabled by the
// call's phase, with keyboard shortcuts), one-key transfer / three-way / 110 with its outcome, wrap-up ended on the
// server, the caller record created or corrected from the pop, call notes, knowledge search, case creation (with
// the tracking number and lookup code to read to the caller), the case callback list and the missed-call list.
import {
  $, el, fill, apiClient, signIn, notifier, fmtDateTime, fmtDuration, fmtClock, fillCategorySelect,
  markedText, qs, ApiError,
} from '../assets/common.js';
import {
  label, AGENT_STATE, PAUSE_REASON, CASE_STATUS, CALL_OUTCOME, TRANSFER_FAIL, MISSED_REASON, CALLBACK_ATTEMPT,
} from '../assets/labels.js';

const api = apiClient();
const say = notifier($('#message'));

/**
 * Exposed for end-to-end tests and troubleshooting: when the last pop was drawn, socket state, the ring alert.
 * @type {{ poppedAt: number | null, wsOpen: boolean, pops: number,
 *          ring: { active: boolean, tone: boolean, notified: boolean, titleFlashes: number, started: number, stopped: number } }}
 */
const probe = { poppedAt: null, wsOpen: false, pops: 0, ring: { active: false, tone: false, notified: false, titleFlashes: 0, started: 0, stopped: 0 } };
/** @type {any} */ (window).__h114 = probe;

/**
 * The call on the card.
 * @type {{ callId: string, phase: 'ringing' | 'connected' | 'wrapup', callerNumber: string, connectedAt: number | null,
 *          endedAt: number | null, callback: boolean, caller: any } | null}
 */
let call = null;
/**
 * The transfer under way on the call (from the POST, then transfer.progress). A blind transfer is followed after
 * the agent left the call, until it is answered (转接成功) or fails (the caller comes back).
 * @type {{ callId: string, mode: 'blind' | 'three_way', target: string, status: string, police: boolean } | null}
 */
let transfer = null;
/** The call of a blind transfer that failed: when it is offered again, the agent is told why. */
let returningCallId = /** @type {string | null} */ (null);
/** The seat state as last shown. */
let seatState = 'offline';
/** @type {ReturnType<typeof setInterval> | undefined} */
let timer;

// ---------------------------------------------------------------- seat state

/**
 * @param {string} state
 * @param {string | null} [reason]
 */
function showAgentState(state, reason) {
  seatState = state;
  const badge = $('#agent-state');
  badge.textContent = label(AGENT_STATE, state);
  badge.className = `badge ${state}`;
  badge.dataset.state = state;
  $('#agent-reason').textContent = reason ? `（${label(PAUSE_REASON, reason, { passText: true })}）` : '';
  updateControls();
}

/** Every button enabled only when the server would accept it in the current seat state and call phase. */
function updateControls() {
  const s = seatState;
  const onCall = s === 'reserved' || s === 'busy' || call?.phase === 'ringing' || call?.phase === 'connected';
  /** @type {(id: string, on: boolean) => void} */
  const enable = (id, on) => {
    /** @type {HTMLButtonElement} */ ($(id)).disabled = !on;
  };
  enable('#btn-login', s === 'offline');
  enable('#btn-ready', s !== 'offline' && s !== 'ready' && !onCall);
  enable('#btn-pause', s !== 'offline' && s !== 'paused');
  enable('#pause-reason', s !== 'offline' && s !== 'paused');
  enable('#btn-logout', s !== 'offline' && !onCall);
  const phase = call?.phase ?? 'idle';
  const connected = phase === 'connected';
  const busyTransfer = !!transfer && transfer.callId === call?.callId && ['requested', 'ringing', 'answered'].includes(transfer.status);
  enable('#btn-hangup', connected);
  enable('#btn-wrapup-done', phase === 'wrapup' || (phase === 'idle' && s === 'wrap_up'));
  enable('#transfer-dept', connected && !busyTransfer);
  enable('#btn-transfer-blind', connected && !busyTransfer);
  enable('#btn-transfer-3way', connected && !busyTransfer);
  enable('#btn-police', connected && !busyTransfer);
  const threeWay = connected && transfer?.mode === 'three_way' && busyTransfer;
  enable('#btn-transfer-complete', threeWay && transfer?.status === 'answered');
  enable('#btn-transfer-cancel', threeWay);
  enable('#btn-save-note', phase !== 'idle');
  enable('#btn-create-case', phase === 'connected' || phase === 'wrapup');
  enable('#btn-caller-edit', phase !== 'idle');
}

/**
 * @param {string} path
 * @param {unknown} [body]
 */
async function seat(path, body) {
  try {
    const view = await api.post(`/api/agents/me/${path}`, body);
    showAgentState(view.state, view.pendingPause ? `通话结束后暂停：${view.pendingPause}` : view.reason);
    if (view.pendingPause) say(`通话结束后将暂停（${view.pendingPause}）`, 'info');
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

/** 完成整理: the server ends the wrap-up (the agent is offered calls again at once), then the card clears. */
async function wrapUpDone() {
  if (call && call.phase !== 'wrapup') return;
  try {
    const view = await api.post('/api/agents/me/wrapup/done');
    clearCall();
    showAgentState(view.state, view.reason);
    say(view.state === 'ready' ? '话后整理已完成，已就绪' : `话后整理已完成，当前状态：${label(AGENT_STATE, view.state)}`, 'ok');
  } catch (err) {
    say(errText(err), 'error');
  }
}

// ---------------------------------------------------------------- ring alert (tone, notification, title flash)

const ring = (() => {
  /** @type {AudioContext | null} */
  let ctx = null;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let beeper;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let flasher;
  /** @type {Notification | null} */
  let note = null;
  const title = document.title;

  /** Browsers start audio only after a user gesture: the first click or key press unlocks it. */
  function unlock() {
    try {
      ctx ??= new AudioContext();
      if (ctx.state === 'suspended') void ctx.resume();
    } catch {
      ctx = null;
    }
  }

  /** Two short tones (like a desk phone), repeated every 1.6 s while the call rings. */
  function beep() {
    if (!ctx) return;
    const t0 = ctx.currentTime;
    for (const [at, f] of /** @type {[number, number][]} */ ([[0, 880], [0.25, 660]])) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.value = f;
      gain.gain.setValueAtTime(0.0001, t0 + at);
      gain.gain.exponentialRampToValueAtTime(0.25, t0 + at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + at + 0.2);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t0 + at);
      osc.stop(t0 + at + 0.22);
    }
    probe.ring.tone = true;
  }

  /** @param {string} who */
  function start(who) {
    stop();
    probe.ring.active = true;
    probe.ring.started += 1;
    probe.ring.tone = false;
    probe.ring.notified = false;
    unlock();
    beep();
    beeper = setInterval(beep, 1600);
    let on = false;
    flasher = setInterval(() => {
      on = !on;
      document.title = on ? `【来电】${who}` : title;
      probe.ring.titleFlashes += 1;
    }, 700);
    document.title = `【来电】${who}`;
    if ('Notification' in window && Notification.permission === 'granted') {
      try {
        note = new Notification('114 来电', { body: `${who} 正在呼入，请接听`, tag: 'h114-ring', requireInteraction: true });
        note.onclick = () => window.focus();
        probe.ring.notified = true;
      } catch {
        note = null;
      }
    }
  }

  function stop() {
    if (!probe.ring.active) return;
    probe.ring.active = false;
    probe.ring.stopped += 1;
    clearInterval(beeper);
    clearInterval(flasher);
    document.title = title;
    note?.close();
    note = null;
  }

  /** Asks for desktop notifications once, from a click (browsers refuse a request without one). */
  function askPermission() {
    if ('Notification' in window && Notification.permission === 'default') void Notification.requestPermission().catch(() => undefined);
  }

  return { start, stop, unlock, askPermission };
})();

// ---------------------------------------------------------------- screen pop

/** @param {any} c the caller record (or null) */
function showCaller(c) {
  fill($('#caller-name'), c?.name || '未登记来电人');
  $('#caller-vip').hidden = !c?.vip;
  fill($('#caller-address'), [c?.district, c?.address].filter(Boolean).join(' ') || '—');
  fill($('#caller-note'), c?.note || '—');
  fill($('#btn-caller-edit'), c?.id ? '编辑档案' : '新建档案');
  fill($('#callbar-caller'), call ? `${call.callerNumber || '未知号码'} ${c?.name ?? ''}` : '');
}

/** @param {any} m call.offered */
function onOffered(m) {
  const returning = returningCallId === m.callId;
  returningCallId = null;
  call = { callId: m.callId, phase: 'ringing', callerNumber: m.callerNumber, connectedAt: null, endedAt: null, callback: m.callback === true, caller: m.caller ?? null };
  if (transfer?.callId !== m.callId) transfer = null;
  showTransfer(returning ? `转接失败${transfer?.target ? `（${transfer.target}）` : ''}，来电已回到您这里，请接听` : '', returning ? 'error' : undefined);
  if (returning) transfer = null;
  const notice = $('#call-notice');
  notice.hidden = !returning;
  fill(notice, returning ? '转接失败，来电已回到您这里' : '');
  $('#caller-callback').hidden = !m.callback;
  fill($('#caller-number'), m.callerNumber || '未知号码');
  fill($('#caller-wait'), fmtDuration(m.queueWaitMs));
  showCaller(m.caller);
  closeCallerForm();
  fill(
    $('#recent-calls'),
    m.recentCalls?.length
      ? m.recentCalls.map((/** @type {any} */ r) =>
          el(
            'li',
            {},
            el('div', {}, fmtDateTime(r.startedAt), ' · ', r.category || '未分类', ' · ', r.agentName || '—', ' · ', label(CALL_OUTCOME, r.outcome)),
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
            el('div', {}, el('strong', {}, k.trackingNo), ' ', el('span', { class: 'badge' }, label(CASE_STATUS, k.status))),
            el('div', {}, k.title),
            el('div', { class: 'muted' }, k.departmentName || '未派单', ' · ', fmtDateTime(k.createdAt)),
          ),
        )
      : el('li', { class: 'muted' }, '无未办结工单'),
  );
  $('#caller').hidden = false;
  $('#call-idle').hidden = true;
  fill($('#notes'));
  fill($('#case-result'));
  /** @type {HTMLFormElement} */ ($('#note-form')).reset();
  /** @type {HTMLFormElement} */ ($('#case-form')).reset();
  seatState = 'reserved';
  setPhase('ringing');
  showAgentState('reserved');
  ring.start(m.callerNumber || '未知号码');
  if (returning) say('转接失败，来电已回到您这里，请接听', 'error');
  probe.poppedAt = Date.now();
  probe.pops += 1;
}

/** @param {any} m call.connected */
function onConnected(m) {
  if (!call || call.callId !== m.callId) return;
  ring.stop();
  call.connectedAt = Date.now();
  $('#call-notice').hidden = true;
  setPhase('connected');
  showAgentState('busy');
}

/** @param {any} m call.ended */
function onEnded(m) {
  if (!call || call.callId !== m.callId) return;
  ring.stop();
  void refreshAgentState();
  if (m.outcome === 'answered' || call.connectedAt) {
    call.endedAt = Date.now();
    setPhase('wrapup');
    if (m.reason === 'transferred' && transfer && transfer.callId === m.callId) {
      if (transfer.mode === 'blind') showTransfer(`正在转接 ${transfer.target}，您已退出通话，等待对方接听……`);
      else showTransfer(`已退出三方通话，来电人继续与 ${transfer.target} 通话`, 'ok');
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
  for (const box of [$('#call-card'), $('#callbar')]) box.dataset.phase = phase;
  const text = { idle: '空闲，等待来电', ringing: call?.callback ? '回拨来电振铃（接听后自动拨打市民）' : '来电振铃，请在话机上接听', connected: '通话中', wrapup: '话后整理' }[phase];
  $('#call-phase').textContent = text;
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
  if (phase !== 'connected') $('#police-confirm').hidden = true;
  if (phase === 'idle') fill($('#callbar-caller'));
  updateControls();
}

function clearCall() {
  ring.stop();
  call = null;
  transfer = null;
  showTransfer('');
  $('#caller').hidden = true;
  $('#call-idle').hidden = false;
  $('#call-notice').hidden = true;
  setPhase('idle');
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

// ---------------------------------------------------------------- caller record from the pop

function openCallerForm() {
  if (!call) return;
  const c = call.caller;
  const f = /** @type {HTMLFormElement} */ ($('#caller-form'));
  /** @type {(name: string) => HTMLInputElement} */
  const input = (name) => /** @type {HTMLInputElement} */ (f.elements.namedItem(name));
  input('name').value = c?.name ?? '';
  input('gender').value = c?.gender ?? '';
  input('district').value = c?.district ?? '';
  input('address').value = c?.address ?? '';
  input('note').value = c?.note ?? '';
  input('vip').checked = !!c?.vip;
  f.hidden = false;
  $('#caller-fields').hidden = true;
  input('name').focus();
}

function closeCallerForm() {
  $('#caller-form').hidden = true;
  $('#caller-fields').hidden = false;
}

/** Creates the record (number of the call) or updates it; the pop shows the saved record. */
async function saveCaller(/** @type {SubmitEvent} */ ev) {
  ev.preventDefault();
  if (!call) return;
  const f = /** @type {HTMLFormElement} */ (ev.target);
  /** @type {(name: string) => string | null} */
  const v = (name) => /** @type {HTMLInputElement} */ (f.elements.namedItem(name)).value.trim() || null;
  const body = {
    name: v('name'),
    gender: v('gender'),
    district: v('district'),
    address: v('address'),
    note: v('note'),
    vip: /** @type {HTMLInputElement} */ (f.elements.namedItem('vip')).checked,
  };
  try {
    const saved = call.caller?.id
      ? await api.patch(`/api/callers/${call.caller.id}`, body)
      : await api.post('/api/callers', { number: call.callerNumber, ...body });
    call.caller = saved;
    showCaller(saved);
    closeCallerForm();
    say(call.caller?.id ? '来电人档案已保存' : '来电人档案已创建', 'ok');
  } catch (err) {
    say(errText(err), 'error');
  }
}

// ---------------------------------------------------------------- WebSocket with backoff

let attempts = 0;
/** @type {WebSocket | null} */
let socket = null;
/** @type {ReturnType<typeof setInterval> | undefined} */
let pinger;

function connect() {
  // The session cookie authenticates the socket (no token in the URL).
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/agents/ws`;
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

/**
 * @param {string} text
 * @param {'ok' | 'error'} [kind]
 */
function showTransfer(text, kind) {
  const box = $('#transfer-status');
  fill(box, text);
  box.className = `transfer-status ${kind ?? ''}`;
  updateControls();
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
  if (!police && !target.departmentCode) {
    select.focus();
    return say('请先选择转接部门', 'error');
  }
  const callId = call.callId;
  transfer = { callId, mode, target: name, status: 'requested', police };
  $('#police-confirm').hidden = true;
  showTransfer(`正在${mode === 'blind' ? '转接' : '邀请'} ${name}……`);
  try {
    const r = await api.post(`/api/calls/${callId}/transfer`, { mode, ...target });
    const t = /** @type {typeof transfer} */ (transfer);
    if (t && t.callId === callId && t.status === 'requested') {
      t.target = r.target;
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
  if (!call || call.callId !== m.callId) return;
  // After a blind transfer the agent has left the call but still follows it until it is answered or comes back.
  const following = call.phase === 'connected' || (call.phase === 'wrapup' && transfer?.callId === m.callId && transfer?.mode === 'blind');
  if (!following) return;
  const police = transfer?.police ?? false;
  transfer = { callId: m.callId, mode: m.mode, target: m.target, status: m.status, police };
  const who = m.target;
  switch (m.status) {
    case 'ringing':
      showTransfer(call.phase === 'wrapup' ? `正在呼叫 ${who}，您已退出通话，等待对方接听……` : `正在呼叫 ${who}……`);
      break;
    case 'answered':
      if (m.mode === 'three_way') showTransfer(`${who} 已接听，三方通话中。介绍完情况后请点击“退出三方”`, 'ok');
      else {
        showTransfer(`转接成功：来电人已与 ${who} 通话`, 'ok');
        say(`转接成功：来电人已与 ${who} 通话`, 'ok');
      }
      break;
    case 'failed': {
      const why = label(TRANSFER_FAIL, m.reason ?? 'failed');
      if (m.mode === 'blind') {
        // The service offers the caller back to this agent when they can take it (else to the front of the queue).
        returningCallId = m.callId;
        showTransfer(`转接失败（${who}：${why}），正在把来电转回……`, 'error');
      } else {
        showTransfer(`转接失败（${who}：${why}），请继续与来电人通话`, 'error');
      }
      say(`转接失败：${who} ${why}`, 'error');
      break;
    }
    case 'completed':
      showTransfer(`转接成功：已退出三方通话，来电人继续与 ${who} 通话`, 'ok');
      break;
    case 'left':
      showTransfer(`${who} 已离开三方通话，请继续与来电人通话`);
      break;
    default:
      showTransfer(`${who}：正在处理`);
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

function askPolice() {
  if (call?.phase !== 'connected') return;
  $('#police-confirm').hidden = false;
  /** @type {HTMLButtonElement} */ ($('#btn-police-cancel')).focus();
}

// ---------------------------------------------------------------- keyboard shortcuts

/**
 * Alt+letter (by physical key, so any keyboard layout and an IME in Chinese mode work). Digits are avoided:
 * Alt+1…9 switch browser tabs on Linux. Documented in the page (快捷键) and docs/console.md.
 * @type {Record<string, () => void>}
 */
const SHORTCUTS = {
  KeyR: () => click('#btn-ready'),
  KeyB: () => click('#btn-pause'),
  KeyH: () => click('#btn-hangup'),
  KeyT: () => {
    const select = /** @type {HTMLSelectElement} */ ($('#transfer-dept'));
    if (select.value) click('#btn-transfer-blind');
    else if (!select.disabled) select.focus();
  },
  KeyG: () => click('#btn-transfer-3way'),
  KeyP: () => (/** @type {HTMLButtonElement} */ ($('#btn-police')).disabled ? undefined : askPolice()),
  KeyS: () => click('#btn-save-note'),
  KeyN: () => /** @type {HTMLTextAreaElement} */ ($('#note-content')).focus(),
  KeyW: () => click('#btn-wrapup-done'),
  KeyK: () => /** @type {HTMLInputElement} */ ($('#kb-q')).focus(),
};

/** @param {string} sel */
function click(sel) {
  const b = /** @type {HTMLButtonElement} */ ($(sel));
  if (!b.disabled) b.click();
}

/** @param {KeyboardEvent} ev */
function onKey(ev) {
  ring.unlock();
  if (ev.key === 'Escape' && !$('#police-confirm').hidden) {
    $('#police-confirm').hidden = true;
    return;
  }
  if (!ev.altKey || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
  const action = SHORTCUTS[ev.code];
  if (!action) return;
  ev.preventDefault();
  action();
}

// ---------------------------------------------------------------- missed calls (回拨)

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
    el('div', {}, el('strong', {}, m.number), m.callerName ? ` ${m.callerName}` : '', ' ', el('span', { class: 'badge' }, label(MISSED_REASON, m.reason))),
    el(
      'div',
      { class: 'muted' },
      `最近 ${fmtDateTime(m.lastMissedAt)} · 未接 ${m.missedCount} 次 · 等待 ${fmtDuration(m.waitedMs)}`,
      m.attempts ? ` · 已回拨 ${m.attempts} 次${m.lastAttemptResult ? `（${label(CALLBACK_ATTEMPT, m.lastAttemptResult)}）` : ''}` : '',
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
        el('div', {}, '已创建工单 ', el('strong', { class: 'tracking-no' }, k.trackingNo), `，${label(CASE_STATUS, k.status)}`, k.departmentName ? `，派往 ${k.departmentName}` : ''),
        k.lookupCode
          ? el(
              'div',
              { class: 'read-out' },
              '请告知来电人：受理编号 ',
              el('strong', {}, k.trackingNo),
              '，查询码 ',
              el('strong', { class: 'lookup-code' }, k.lookupCode),
              '。可在“114阳光政务服务热线”网站凭受理编号和查询码（或手机号后四位）查询办理进度。',
              k.smsSent ? '（已短信发送）' : '',
            )
          : null,
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
    el('div', {}, el('strong', {}, k.trackingNo), ' ', el('span', { class: 'badge' }, label(CASE_STATUS, k.status))),
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
    allow: (u) => (u.agentId === null ? '该账号没有坐席分机，不能使用坐席工作台' : null),
  });
  fill($('#who'), `${me.displayName}（${me.username}）`);
  $('#seat-controls').hidden = false;
  $('#btn-signout').hidden = false;
  $('#workspace').hidden = false;
  setPhase('idle');

  // The first click or key press unlocks the ring tone (browsers start audio only after a user gesture).
  document.addEventListener('pointerdown', () => ring.unlock(), { once: true });
  document.addEventListener('keydown', onKey);
  $('#btn-login').addEventListener('click', () => {
    ring.askPermission();
    void seat('login', {});
  });
  $('#btn-ready').addEventListener('click', () => seat('ready'));
  $('#btn-pause').addEventListener('click', () => seat('pause', { reason: /** @type {HTMLSelectElement} */ ($('#pause-reason')).value }));
  $('#btn-logout').addEventListener('click', () => seat('logout'));
  $('#btn-wrapup-done').addEventListener('click', wrapUpDone);
  $('#btn-hangup').addEventListener('click', async () => {
    if (!call) return;
    try {
      await api.post(`/api/calls/${call.callId}/hangup`);
    } catch (err) {
      say(errText(err), 'error');
    }
  });
  $('#btn-shortcuts').addEventListener('click', () => {
    const box = $('#shortcuts');
    box.hidden = !box.hidden;
    $('#btn-shortcuts').setAttribute('aria-expanded', String(!box.hidden));
  });
  $('#btn-caller-edit').addEventListener('click', openCallerForm);
  $('#btn-caller-cancel').addEventListener('click', closeCallerForm);
  $('#caller-form').addEventListener('submit', saveCaller);
  $('#note-form').addEventListener('submit', saveNote);
  $('#case-form').addEventListener('submit', createCase);
  $('#kb-form').addEventListener('submit', searchKnowledge);
  $('#btn-callbacks').addEventListener('click', loadCallbacks);
  $('#btn-missed').addEventListener('click', loadMissed);
  $('#btn-transfer-blind').addEventListener('click', () => startTransfer('blind', { departmentCode: /** @type {HTMLSelectElement} */ ($('#transfer-dept')).value }));
  $('#btn-transfer-3way').addEventListener('click', () => startTransfer('three_way', { departmentCode: /** @type {HTMLSelectElement} */ ($('#transfer-dept')).value }));
  $('#btn-transfer-complete').addEventListener('click', () => transferAction('complete'));
  $('#btn-transfer-cancel').addEventListener('click', () => transferAction('cancel'));
  $('#btn-police').addEventListener('click', askPolice);
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
    el('option', { value: '' }, '（选择转接部门）'),
    departments.map((/** @type {any} */ d) => el('option', { value: d.code }, d.name)),
  );
  void loadCallbacks();
  void loadMissed();
  // Refreshed now and then, but not while the agent is typing a result into the list.
  setInterval(() => !$('#missed').contains(document.activeElement) && loadMissed(), 30000);
}

main().catch((err) => say(errText(err), 'error'));
