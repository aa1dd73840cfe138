// @ts-check
// The one code → Chinese label dictionary of every page. A code the API sends is never put on screen as it is:
// pages call label(KIND, code), which answers 未知 (and logs once) for a code missing here, so a new status shows
// up as a visible gap instead of an English word. test/web/labels.test.ts scans rendered pages for raw codes.

/** @typedef {Record<string, string>} Dict */

/** Work-order (工单) statuses; same wording as src/cases/state.ts STATUS_LABELS. */
export const CASE_STATUS = /** @type {Dict} */ ({
  draft: '待派单',
  dispatched: '已派单（待签收）',
  signed: '已签收',
  in_progress: '办理中',
  resolved: '已办结（待回访）',
  callback: '回访中',
  closed: '已结案',
  returned: '已退单（待重新派单）',
  extension_requested: '延期申请中',
  reopened: '重办（待签收）',
  merged: '已并单',
});

export const AGENT_STATE = /** @type {Dict} */ ({
  offline: '未签入',
  ready: '就绪',
  paused: '暂停',
  reserved: '振铃中',
  busy: '通话中',
  wrap_up: '话后整理',
});

/** Pause reasons the system sets by itself (agents choose the others in Chinese). */
export const PAUSE_REASON = /** @type {Dict} */ ({
  login: '签入后暂停',
  missed: '连续未接，系统自动暂停',
});

export const ROLE = /** @type {Dict} */ ({
  agent: '话务员',
  dispatcher: '派单员',
  department_staff: '部门工作人员',
  supervisor: '班长',
  admin: '管理员',
});

/** Call outcomes (calls.outcome) and call states (calls.state). */
export const CALL_OUTCOME = /** @type {Dict} */ ({
  answered: '已接听',
  abandoned: '来电人挂机（未接通）',
  failed: '系统未能接通',
  no_agent: '无坐席可接',
  missed: '未接',
});

export const CALL_STATE = /** @type {Dict} */ ({
  ringing: '振铃',
  answered: '已应答',
  menu: '语音菜单',
  queued: '排队',
  offering: '振铃坐席',
  connected: '通话中',
  transferring: '转接中',
  transferred: '已转接',
  wrap_up: '话后整理',
  survey: '满意度评价',
  ended: '已结束',
  abandoned: '来电人挂机',
  failed: '失败',
});

export const HANGUP_BY = /** @type {Dict} */ ({ caller: '来电人', agent: '话务员', system: '系统' });

export const CHANNEL = /** @type {Dict} */ ({ phone: '电话', web: '网上求助', open311: '第三方平台（Open311）' });

export const URGENCY = /** @type {Dict} */ ({ normal: '一般', urgent: '紧急' });

export const SATISFACTION = /** @type {Dict} */ ({ satisfied: '满意', basically_satisfied: '基本满意', unsatisfied: '不满意' });

export const NOTICE_KIND = /** @type {Dict} */ ({ yellow: '黄牌预警', red: '红牌超期', supervise: '督办', sign_overdue: '签收超时' });

/** Why a transfer target did not take the call (transfer.progress reason). */
export const TRANSFER_FAIL = /** @type {Dict} */ ({
  no_answer: '对方无人接听',
  busy: '对方忙',
  failed: '无法呼通对方',
  cancelled: '已取消',
});

export const TRANSFER_STATUS = /** @type {Dict} */ ({
  requested: '已发起',
  ringing: '对方振铃',
  answered: '对方已接听',
  failed: '未成功',
  completed: '已完成',
  left: '对方已离开',
});

export const MISSED_REASON = /** @type {Dict} */ ({ abandoned: '排队中挂机', failed: '系统未能接通' });

export const CALLBACK_ATTEMPT = /** @type {Dict} */ ({
  connected: '已接通',
  answered: '已接通',
  no_answer: '无人接听',
  busy: '忙',
  failed: '呼叫失败',
  agent_no_answer: '坐席未接听',
  cancelled: '已取消',
});

export const PRESENCE = /** @type {Dict} */ ({ available: '空闲', in_use: '通话中', ringing: '振铃', unavailable: '未注册/不可达', unknown: '未知' });

export const KNOWLEDGE_KIND = /** @type {Dict} */ ({ guide: '办事指南', public_info: '政务公开' });

export const GENDER = /** @type {Dict} */ ({ male: '男', female: '女', unknown: '未知' });

/** Every dictionary by name, for the raw-code scan in the browser tests. */
export const ALL = /** @type {Record<string, Dict>} */ ({
  CASE_STATUS, AGENT_STATE, PAUSE_REASON, ROLE, CALL_OUTCOME, CALL_STATE, HANGUP_BY, CHANNEL, URGENCY, SATISFACTION,
  NOTICE_KIND, TRANSFER_FAIL, TRANSFER_STATUS, MISSED_REASON, CALLBACK_ATTEMPT, PRESENCE, KNOWLEDGE_KIND, GENDER,
});

const warned = new Set();

/**
 * The Chinese label of a code; '—' for no code; 未知 for a code the dictionary lacks (never the code itself).
 * Free text (an agent-chosen pause reason such as 休息) passes through when `passText` is set and it is not ASCII.
 * @param {Dict} dict
 * @param {string | null | undefined} code
 * @param {{ passText?: boolean }} [o]
 */
export function label(dict, code, o = {}) {
  if (code === null || code === undefined || code === '') return '—';
  const hit = dict[code];
  if (hit) return hit;
  if (o.passText && /[^\x00-\x7f]/.test(code)) return code;
  if (!warned.has(code)) {
    warned.add(code);
    console.warn(`[labels] no Chinese label for code "${code}"`);
  }
  return '未知';
}
