// @ts-check
// Shared helpers for every page: DOM building (text only, never innerHTML with data), the JSON API client (the
// session cookie and CSRF token come from session.js), formatting, and the safe rendering of search snippets.
import { requireSession, sessionHeaders, toSignIn } from './session.js';

/**
 * @param {string} sel
 * @param {ParentNode} [root]
 * @returns {HTMLElement}
 */
export function $(sel, root = document) {
  const n = root.querySelector(sel);
  if (!n) throw new Error(`missing element ${sel}`);
  return /** @type {HTMLElement} */ (n);
}

/** @typedef {Node | string | number | null | undefined | false} Leaf */
/** @typedef {Leaf | Leaf[] | Leaf[][]} Child */

/**
 * Creates an element. Strings become text nodes; attributes are set with setAttribute (never HTML).
 * attrs: { class, text, dataset: {...}, onclick: fn, ...other attributes }
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...Child} children
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = String(v);
    else if (k === 'text') node.textContent = String(v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), /** @type {EventListener} */ (v));
    else if (v === true) node.setAttribute(k, '');
    else node.setAttribute(k, String(v));
  }
  append(node, children);
  return node;
}

/**
 * @param {Node} node
 * @param {Child[]} children
 */
function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else if (typeof c === 'string' || typeof c === 'number') node.appendChild(document.createTextNode(String(c)));
    else node.appendChild(c);
  }
}

/**
 * Replaces the children of a node.
 * @param {Node} node
 * @param {...Child} children
 */
export function fill(node, ...children) {
  while (node.firstChild) node.removeChild(node.firstChild);
  append(node, children);
}

/**
 * Search snippets come from the API as escaped text with <mark> around the hits. Parse them in an inert
 * document and rebuild: text stays text, <mark> stays <mark>, any other element is reduced to its text.
 * @param {string} html
 * @returns {DocumentFragment}
 */
export function markedText(html) {
  const doc = new DOMParser().parseFromString(`<body>${html}</body>`, 'text/html');
  const out = document.createDocumentFragment();
  /**
   * @param {Node} from
   * @param {Node} to
   */
  const walk = (from, to) => {
    for (const n of Array.from(from.childNodes)) {
      if (n.nodeType === Node.TEXT_NODE) to.appendChild(document.createTextNode(n.textContent ?? ''));
      else if (n.nodeType === Node.ELEMENT_NODE) {
        if (/** @type {Element} */ (n).tagName === 'MARK') {
          const m = document.createElement('mark');
          m.textContent = n.textContent ?? '';
          to.appendChild(m);
        } else walk(n, to);
      }
    }
  };
  walk(doc.body, out);
  return out;
}

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * A JSON client for the service's API, signed in by the session cookie. Errors carry the API's stable code and
 * its Chinese message; a 401 (session ended: signed out elsewhere, disabled, expired) goes to the sign-in page.
 * @param {{ public?: boolean }} [opts]  public pages (the resident portal) stay where they are on a 401
 */
export function apiClient(opts = {}) {
  /** @param {number} status */
  const unauthorized = (status) => {
    if (status === 401 && !opts.public) toSignIn();
  };
  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @returns {Promise<any>}
   */
  async function request(method, path, body) {
    /** @type {Record<string, string>} */
    const headers = { accept: 'application/json', ...sessionHeaders(method) };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError(0, 'network', '无法连接服务器，请检查网络后重试');
    }
    if (res.status === 204) return null;
    const text = await res.text();
    /** @type {any} */
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!res.ok) {
      unauthorized(res.status);
      const msg = data && typeof data.message === 'string' ? data.message : `请求失败（${res.status}）`;
      throw new ApiError(res.status, data && typeof data.error === 'string' ? data.error : 'http_error', msg);
    }
    return data;
  }
  /**
   * Fetches a file (CSV, recording) in the session and hands it to the browser as a download.
   * @param {string} path
   * @param {string} filename
   */
  async function download(path, filename) {
    let res;
    try {
      res = await fetch(path, { credentials: 'same-origin' });
    } catch {
      throw new ApiError(0, 'network', '无法连接服务器，请检查网络后重试');
    }
    if (!res.ok) {
      unauthorized(res.status);
      /** @type {any} */
      let data = null;
      try {
        data = await res.json();
      } catch {
        data = null;
      }
      throw new ApiError(res.status, data?.error ?? 'http_error', typeof data?.message === 'string' ? data.message : `下载失败（${res.status}）`);
    }
    const m = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '');
    const url = URL.createObjectURL(await res.blob());
    const a = el('a', { href: url, download: m?.[1] ?? filename });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }
  return {
    download,
    /** @param {string} path */
    get: (path) => request('GET', path),
    /** @param {string} path @param {unknown} [body] */
    post: (path, body) => request('POST', path, body),
    /** @param {string} path @param {unknown} [body] */
    patch: (path, body) => request('PATCH', path, body),
  };
}

/**
 * Query string from an object (undefined, null and '' are left out; arrays repeat the key).
 * @param {Record<string, unknown>} params
 */
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) for (const x of v) u.append(k, String(x));
    else u.append(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

/** @param {number} n */
const pad = (n) => String(n).padStart(2, '0');

const CHINA = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});

/**
 * The parts of a moment in China time (UTC+8, no daylight saving), whatever the browser's own time zone.
 * @param {Date} d
 */
function chinaParts(d) {
  /** @type {Record<string, string>} */
  const p = {};
  for (const x of CHINA.formatToParts(d)) p[x.type] = x.value;
  return p;
}

/**
 * 2025-11-28 09:05 (China time)
 * @param {string | number | Date | null | undefined} v
 */
export function fmtDateTime(v) {
  if (v === null || v === undefined || v === '') return '—';
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return '—';
  const p = chinaParts(d);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

/**
 * 2025-11-28 (China time), for dates and file names.
 * @param {string | number | Date} v
 */
export function fmtDate(v) {
  const p = chinaParts(new Date(v));
  return `${p.year}-${p.month}-${p.day}`;
}

/**
 * Time left until a deadline, in words: 剩余 2 小时 / 剩余 35 分钟 / 剩余 3 天 / 已超期 1 小时.
 * @param {string | number | Date | null | undefined} deadline
 * @param {number} [now]
 */
export function fmtCountdown(deadline, now = Date.now()) {
  if (deadline === null || deadline === undefined || deadline === '') return '—';
  const ms = new Date(deadline).getTime() - now;
  if (!Number.isFinite(ms)) return '—';
  const a = Math.abs(ms);
  const min = Math.floor(a / 60000);
  const span = min < 60 ? `${Math.max(1, min)} 分钟` : min < 48 * 60 ? `${Math.floor(min / 60)} 小时` : `${Math.floor(min / 1440)} 天`;
  return ms >= 0 ? `剩余 ${span}` : `已超期 ${span}`;
}

/**
 * 3分05秒 / 42秒 / 1小时02分
 * @param {number | null | undefined} ms
 */
export function fmtDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}秒`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}分${pad(s % 60)}秒`;
  return `${Math.floor(m / 60)}小时${pad(m % 60)}分`;
}

/**
 * 00:42 / 12:05 (a running call timer)
 * @param {number} ms
 */
export function fmtClock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const mm = `${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
  return h ? `${h}:${mm}` : mm;
}

// Labels live in one dictionary (labels.js); these names stay for the pages that import them from here.
import { CASE_STATUS, label } from './labels.js';
export { CASE_STATUS as STATUS_LABELS, AGENT_STATE as AGENT_STATES, ROLE as ROLE_LABELS, label } from './labels.js';

/**
 * The page's message area: a toast fixed at the bottom of the window (never pushes the layout, always in view
 * whatever the scroll), info/ok fading after 6 s, errors after 15 s; a click dismisses it.
 * @param {HTMLElement} node
 */
export function notifier(node) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  if (!node.dataset.toast) {
    node.dataset.toast = '1';
    node.classList.add('toast');
    node.setAttribute('aria-live', 'polite');
    node.title = '点击关闭';
    node.addEventListener('click', () => (node.hidden = true));
  }
  /**
   * @param {string} text
   * @param {'info' | 'ok' | 'error'} [kind]
   */
  return (text, kind = 'info') => {
    node.textContent = text;
    node.className = `toast notice notice-${kind}`;
    node.hidden = !text;
    clearTimeout(timer);
    if (text) timer = setTimeout(() => (node.hidden = true), kind === 'error' ? 15000 : 6000);
  };
}

/**
 * Resolves with the signed-in user once this page may be used (see session.js: not signed in → sign-in page).
 * @param {{ allow: (me: any) => string | null }} o  allow returns an error text when this user may not use the page
 * @returns {Promise<any>}
 */
export function signIn(o) {
  return requireSession(o.allow);
}

/**
 * Options of a <select> from the category tree (/api/categories): "一级 / 二级".
 * @param {HTMLSelectElement} select
 * @param {any[]} tree
 * @param {string} [emptyLabel]
 */
export function fillCategorySelect(select, tree, emptyLabel = '（请选择分类）') {
  fill(select, el('option', { value: '' }, emptyLabel));
  for (const top of tree) {
    const group = el('optgroup', { label: top.name });
    group.appendChild(el('option', { value: top.id }, `${top.name}（大类）`));
    for (const child of top.children ?? []) {
      group.appendChild(el('option', { value: child.id }, `${top.name} / ${child.name}`));
      for (const leaf of child.children ?? []) group.appendChild(el('option', { value: leaf.id }, `${top.name} / ${child.name} / ${leaf.name}`));
    }
    select.appendChild(group);
  }
}

/**
 * Case history (case_events) as a list.
 * @param {any[]} events
 */
export function historyList(events) {
  if (!events.length) return el('p', { class: 'muted' }, '暂无处理记录');
  return el(
    'ol',
    { class: 'history' },
    events.map((e) =>
      el(
        'li',
        {},
        el('time', {}, fmtDateTime(e.at)),
        ' ',
        el('strong', {}, label(CASE_STATUS, e.toStatus)),
        e.actorName ? el('span', { class: 'muted' }, ` · ${e.actorName}`) : null,
        e.note ? el('div', { class: 'pre' }, e.note) : null,
      ),
    ),
  );
}

/**
 * Field list (<dl>) of label → value; values are text.
 * @param {[string, unknown][]} rows
 */
export function fields(rows) {
  return el(
    'dl',
    { class: 'fields' },
    rows.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v === null || v === undefined || v === '' ? '—' : /** @type {any} */ (v))]),
  );
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * Creates an SVG element (attributes with setAttribute; strings become text nodes), like el() for SVG charts.
 * @param {string} tag
 * @param {Record<string, string | number | null | undefined>} [attrs]
 * @param {...Child} children
 * @returns {SVGElement}
 */
export function svg(tag, attrs = {}, ...children) {
  const node = /** @type {SVGElement} */ (document.createElementNS(SVG_NS, tag));
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  append(node, children);
  return node;
}

/**
 * 87.5% (a 0–1 rate), or — when there is no denominator.
 * @param {number | null | undefined} v
 */
export function fmtPct(v) {
  return v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)}%`;
}

/** The try-it mode (npm run demo) says so on every page: the phone system is simulated, calls are generated. */
async function demoBanner() {
  try {
    const res = await fetch('/api/public/mode', { headers: { accept: 'application/json' } });
    if (!res.ok || !(await res.json()).demo) return;
  } catch {
    return;
  }
  document.body.prepend(
    el('div', { class: 'demo-banner', id: 'demo-banner', role: 'note' }, '演示模式：电话系统为模拟（未连接 Asterisk），来电由程序自动生成，数据仅供体验。'),
  );
}
if (typeof document !== 'undefined') void demoBanner();
