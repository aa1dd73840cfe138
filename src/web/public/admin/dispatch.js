// @ts-check
// The dispatcher's work queue (待派单) on the supervisor/dispatcher page: every case and web request waiting for a
// department, urgent first then oldest first, with the department past dispatches suggest. No department is
// chosen for the dispatcher: the list starts empty and 采用建议 fills it in when there is a suggestion.
import { el, fill, fmtDateTime, fmtDuration, qs } from '../assets/common.js';
import { label, CHANNEL, CASE_STATUS } from '../assets/labels.js';

/**
 * @param {{ api: ReturnType<typeof import('../assets/common.js').apiClient>, box: HTMLElement, total: HTMLElement,
 *           departments: () => any[], say: (text: string, kind?: 'info' | 'ok' | 'error') => void,
 *           open: (caseId: number) => void }} o
 */
export function dispatchQueue(o) {
  async function load() {
    try {
      const r = await o.api.get(`/api/dispatch/queue${qs({ limit: 100 })}`);
      fill(o.total, r.total ? `共 ${r.total} 件等待派单（紧急在前，其次等待最久的在前）` : '');
      fill(o.box, r.items.length ? r.items.map(row) : el('p', { class: 'muted' }, '暂无待派单的工单'));
    } catch (err) {
      fill(o.box, el('p', { class: 'notice notice-error' }, err instanceof Error ? err.message : String(err)));
    }
  }

  /** @param {any} k */
  function row(k) {
    const select = /** @type {HTMLSelectElement} */ (
      el(
        'select',
        { 'aria-label': `工单 ${k.trackingNo} 派往部门`, dataset: { role: 'department' } },
        el('option', { value: '' }, '（请选择部门）'),
        o.departments().map((d) => el('option', { value: d.code }, d.name, k.suggestion?.departmentCode === d.code ? '（建议）' : '')),
      )
    );
    const send = /** @type {HTMLButtonElement} */ (el('button', { type: 'button', class: 'primary small', disabled: true, dataset: { action: 'dispatch' } }, '派单'));
    select.addEventListener('change', () => (send.disabled = !select.value));
    send.addEventListener('click', async () => {
      if (!select.value) return;
      send.disabled = true;
      try {
        await o.api.post(`/api/cases/${k.id}/dispatch`, { departmentCode: select.value });
        o.say(`工单 ${k.trackingNo} 已派往 ${select.selectedOptions[0]?.textContent?.replace('（建议）', '') ?? ''}`, 'ok');
        await load();
      } catch (err) {
        send.disabled = false;
        o.say(err instanceof Error ? err.message : String(err), 'error');
      }
    });
    const s = k.suggestion;
    return el(
      'article',
      { class: `queue-item ${k.urgency === 'urgent' ? 'urgent' : ''}`, dataset: { case: k.id } },
      el(
        'div',
        { class: 'row' },
        el('a', { href: `#case-${k.id}`, class: 'tracking-no', onclick: (/** @type {Event} */ ev) => (ev.preventDefault(), o.open(k.id)) }, k.trackingNo),
        k.urgency === 'urgent' ? el('span', { class: 'badge red' }, '紧急') : null,
        el('span', { class: 'badge' }, label(CHANNEL, k.channel)),
        el('span', { class: 'badge' }, label(CASE_STATUS, k.status)),
        el('span', { class: 'muted grow' }, k.categoryName ?? '未分类', k.place ? ` · ${k.place}` : '', ` · 已等待 ${fmtDuration(k.waitingMs)}（${fmtDateTime(k.createdAt)} 受理）`),
      ),
      el('div', { class: 'title' }, k.title),
      k.address ? el('div', { class: 'muted' }, '地点：', k.address) : null,
      k.status === 'returned' ? el('div', { class: 'notice notice-error' }, `${k.returnedBy ?? '部门'}退单：${k.returnReason ?? '（未填写理由）'}`) : null,
      el(
        'div',
        { class: 'row actions' },
        s
          ? el(
              'span',
              { class: 'suggestion' },
              '建议派往 ',
              el('strong', { class: 'suggested-dept' }, s.departmentName),
              el('span', { class: 'muted' }, `（${s.basis}）`),
              ' ',
              el(
                'button',
                {
                  type: 'button',
                  class: 'small',
                  dataset: { action: 'accept' },
                  onclick: () => {
                    select.value = s.departmentCode;
                    send.disabled = false;
                    send.focus();
                  },
                },
                '采用建议',
              ),
            )
          : el('span', { class: 'muted suggestion' }, '无历史派单可参考，请选择部门'),
        select,
        send,
      ),
    );
  }

  return { load };
}
