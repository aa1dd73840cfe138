// @ts-check
// The signed-in session, shared by every staff page: the HTTP-only session cookie goes with every request
// (credentials: 'same-origin'), writes carry the session's CSRF token (x-csrf-token), a 401 sends the browser to
// the sign-in page (and back here afterwards), a pending forced password change too. Also the account buttons
// (修改密码 / 退出登录 / 退出所有设备) next to the page's #btn-signout.

/** @type {string | null} */
let csrf = null;

/** Headers for a request of this page: the CSRF token on writes. */
export function sessionHeaders(method = 'GET') {
  /** @type {Record<string, string>} */
  const h = {};
  if (csrf && !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase())) h['x-csrf-token'] = csrf;
  return h;
}

/** Sends the browser to the sign-in page, coming back to this page afterwards. */
export function toSignIn(extra = '') {
  const next = location.pathname + location.search;
  location.assign(`/signin/?next=${encodeURIComponent(next)}${extra}`);
}

/**
 * The current session ({ user, mustChangePassword, csrfToken, home }), or null when not signed in.
 * @returns {Promise<any>}
 */
export async function currentSession() {
  const res = await fetch('/api/auth/session', { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (res.status === 401) return null;
  if (!res.ok) throw new Error(`无法获取登录状态（${res.status}）`);
  const s = await res.json();
  csrf = s.csrfToken;
  return s;
}

/**
 * Resolves with the signed-in user once this page may be used; otherwise goes to the sign-in page (not signed
 * in, or a password change is pending), or shows why this account may not use the page.
 * @param {(me: any) => string | null} allow  returns an error text when this user may not use the page
 * @returns {Promise<any>}
 */
export async function requireSession(allow) {
  const s = await currentSession();
  if (!s) {
    toSignIn();
    return new Promise(() => undefined);
  }
  if (s.mustChangePassword) {
    toSignIn('&change=1');
    return new Promise(() => undefined);
  }
  mountAccount(s.user);
  const refused = allow(s.user);
  if (refused) {
    const box = document.createElement('div');
    box.className = 'notice notice-error';
    box.setAttribute('role', 'alert');
    box.append(`${refused}。`);
    const home = document.createElement('a');
    home.href = s.home;
    home.textContent = '前往您的工作页面';
    box.append(home);
    (document.querySelector('main') ?? document.body).prepend(box);
    return new Promise(() => undefined);
  }
  return s.user;
}

/** @param {boolean} everywhere */
export async function signOut(everywhere = false) {
  try {
    await fetch(everywhere ? '/api/auth/signout-all' : '/api/auth/signout', {
      method: 'POST',
      credentials: 'same-origin',
      headers: sessionHeaders('POST'),
    });
  } finally {
    location.assign('/signin/?signedout=1');
  }
}

let mounted = false;

/**
 * Shows and wires #btn-signout, and adds 修改密码 / 退出所有设备 (and 用户管理 for admins) next to it.
 * @param {any} user
 */
function mountAccount(user) {
  const out = document.getElementById('btn-signout');
  if (!out || mounted) return;
  mounted = true;
  out.hidden = false;
  out.addEventListener('click', () => void signOut(false));
  const all = document.createElement('button');
  all.type = 'button';
  all.id = 'btn-signout-all';
  all.textContent = '退出所有设备';
  all.title = '本账号在所有电脑和浏览器上的登录立即失效';
  all.addEventListener('click', () => {
    if (confirm('确定要退出本账号在所有设备上的登录吗？')) void signOut(true);
  });
  const change = document.createElement('a');
  change.id = 'link-change-password';
  change.href = `/signin/?change=1&next=${encodeURIComponent(location.pathname)}`;
  change.textContent = '修改密码';
  out.after(change, ' ', all);
  if (user.role === 'admin' && location.pathname !== '/users/') {
    const users = document.createElement('a');
    users.id = 'link-users';
    users.href = '/users/';
    users.textContent = '用户管理';
    out.before(users, ' ');
  }
}
