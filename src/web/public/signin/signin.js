// @ts-check
// The one sign-in page of every staff page: username + password (or the city's identity platform when
// configured), the forced password change after a first sign-in or an admin reset, then back to the page the
// person came from (or their role's page).
import { currentSession, sessionHeaders, signOut } from '../assets/session.js';

const $ = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (document.querySelector(sel));
const params = new URLSearchParams(location.search);

/** A local path only (never another site). */
function nextPath() {
  const n = params.get('next') ?? '';
  return /^\/(?![/\\])[^\\\s]*$/.test(n) && !n.startsWith('/signin') ? n : null;
}

/**
 * @param {string} text
 * @param {'info' | 'ok' | 'error'} [kind]
 */
function say(text, kind = 'info') {
  const m = $('#message');
  m.textContent = text;
  m.className = `notice notice-${kind}`;
  m.hidden = !text;
}

/** @param {any} s */
function proceed(s) {
  location.assign(nextPath() ?? s.home);
}

/** @param {boolean} forced */
function showChange(forced) {
  $('#signin').hidden = true;
  $('#change').hidden = false;
  $('#change-why').textContent = forced ? '首次登录或密码已被管理员重置，请设置新密码后继续。' : '修改后，本账号在其他设备上的登录将失效。';
  /** @type {HTMLInputElement} */ ($('#current-password')).focus();
}

/**
 * @param {string} path
 * @param {unknown} body
 */
async function post(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...sessionHeaders('POST') },
    body: JSON.stringify(body),
  });
  /** @type {any} */
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  return { ok: res.ok, status: res.status, data };
}

async function main() {
  if (params.get('signedout')) say('您已退出登录', 'ok');
  const error = params.get('error');
  if (error) say(error, 'error');

  const s = await currentSession().catch(() => null);
  if (s && (s.mustChangePassword || params.get('change'))) showChange(s.mustChangePassword);
  else if (s && !params.get('signedout')) return proceed(s);
  else $('#signin').hidden = false;

  fetch('/api/auth/options', { headers: { accept: 'application/json' } })
    .then((r) => (r.ok ? r.json() : null))
    .then((o) => {
      if (!o?.oidc) return;
      const link = /** @type {HTMLAnchorElement} */ ($('#oidc-link'));
      link.textContent = o.oidc.label;
      const next = nextPath();
      if (next) link.href = `/api/auth/oidc/start?next=${encodeURIComponent(next)}`;
      $('#oidc').hidden = false;
    })
    .catch(() => undefined);

  $('#signin').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = /** @type {HTMLFormElement} */ (ev.target);
    const username = /** @type {HTMLInputElement} */ (form.elements.namedItem('username')).value.trim();
    const password = /** @type {HTMLInputElement} */ (form.elements.namedItem('password'));
    const button = /** @type {HTMLButtonElement} */ ($('#btn-signin'));
    button.disabled = true;
    try {
      const r = await post('/api/auth/signin', { username, password: password.value });
      if (!r.ok) {
        password.value = '';
        password.focus();
        return say(r.data?.message ?? `登录失败（${r.status}）`, 'error');
      }
      await currentSession(); // picks up the new session's CSRF token
      password.value = '';
      say('');
      if (r.data.mustChangePassword) return showChange(true);
      proceed(r.data);
    } catch {
      say('无法连接服务器，请检查网络后重试', 'error');
    } finally {
      button.disabled = false;
    }
  });

  $('#change').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = /** @type {HTMLFormElement} */ (ev.target);
    const value = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name)).value;
    if (value('newPassword') !== value('newPassword2')) return say('两次输入的新密码不一致', 'error');
    try {
      const r = await post('/api/auth/password', { currentPassword: value('currentPassword'), newPassword: value('newPassword') });
      if (!r.ok) {
        if (r.status === 401) return location.reload();
        return say(r.data?.message ?? `修改失败（${r.status}）`, 'error');
      }
      form.reset();
      say('密码已修改', 'ok');
      proceed(r.data);
    } catch {
      say('无法连接服务器，请检查网络后重试', 'error');
    }
  });
  $('#btn-change-signout').addEventListener('click', () => void signOut(false));
}

main().catch((err) => say(err instanceof Error ? err.message : String(err), 'error'));
