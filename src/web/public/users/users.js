// @ts-check
// User administration for admins: create a user (with a temporary password shown once), reset a password
// (the user must choose a new one at the next sign-in; their sessions end), disable and enable again.
import { $, el, fill, apiClient, signIn, notifier } from '../assets/common.js';
import { label, ROLE } from '../assets/labels.js';

const api = apiClient();
const say = notifier($('#message'));

/** @param {unknown} err */
const errText = (err) => (err instanceof Error ? err.message : String(err));

/**
 * Shows a temporary password once, to be handed to the person.
 * @param {string} username
 * @param {string} password
 */
function showTemp(username, password) {
  fill($('#temp'), `用户 ${username} 的临时密码：`, el('strong', { id: 'temp-password' }, password), '（只显示这一次；该用户首次登录时须修改密码）');
  $('#temp').hidden = false;
}

/** @param {any} u */
function row(u) {
  const reset = el('button', { type: 'button', class: 'small', 'data-action': 'reset' }, '重置密码');
  reset.addEventListener('click', async () => {
    if (!confirm(`确定重置 ${u.displayName}（${u.username}）的密码吗？其当前登录将立即失效。`)) return;
    try {
      const r = await api.post(`/api/admin/users/${u.id}/password`);
      showTemp(u.username, r.temporaryPassword);
    } catch (err) {
      say(errText(err), 'error');
    }
  });
  const toggle = el('button', { type: 'button', class: 'small', 'data-action': u.active ? 'disable' : 'enable' }, u.active ? '停用' : '启用');
  toggle.addEventListener('click', async () => {
    if (u.active && !confirm(`确定停用 ${u.displayName}（${u.username}）吗？其全部登录和接口令牌将立即失效。`)) return;
    try {
      await api.post(`/api/admin/users/${u.id}/${u.active ? 'disable' : 'enable'}`);
      say(u.active ? `已停用 ${u.username}` : `已启用 ${u.username}`, 'ok');
      await load();
    } catch (err) {
      say(errText(err), 'error');
    }
  });
  const where = [u.departmentName, u.extension ? `分机 ${u.extension}` : null].filter(Boolean).join(' / ');
  return el(
    'tr',
    { 'data-user': u.username },
    el('td', {}, u.username),
    el('td', {}, u.displayName),
    el('td', {}, label(ROLE, u.role)),
    el('td', {}, where || '—'),
    el('td', { class: u.active ? '' : 'late' }, u.active ? '正常' : '已停用'),
    el('td', {}, reset, ' ', toggle),
  );
}

async function load() {
  const users = await api.get('/api/admin/users');
  fill($('#users'), users.map(row));
}

async function main() {
  const me = await signIn({ allow: (u) => (u.role === 'admin' ? null : '用户管理仅限管理员使用') });
  fill($('#who'), `${me.displayName}（${me.username}）`);
  $('#workspace').hidden = false;
  fill($('#new-role'), Object.keys(ROLE).map((r) => el('option', { value: r }, label(ROLE, r))));
  $('#create').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = /** @type {HTMLFormElement} */ (ev.target);
    const v = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name)).value.trim();
    /** @type {Record<string, string>} */
    const body = { username: v('username'), displayName: v('displayName'), role: v('role') };
    if (v('departmentCode')) body.departmentCode = v('departmentCode');
    if (v('extension')) body.extension = v('extension');
    try {
      const u = await api.post('/api/admin/users', body);
      const r = await api.post(`/api/admin/users/${u.id}/password`);
      showTemp(u.username, r.temporaryPassword);
      form.reset();
      await load();
    } catch (err) {
      say(errText(err), 'error');
    }
  });
  await load();
}

main().catch((err) => say(errText(err), 'error'));
