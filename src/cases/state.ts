// The case (工单) state machine of DESIGN §4: which action moves which status where, and who may do it.
//   draft → dispatched → signed → in_progress → resolved → callback → closed
//   plus returned (退单), extension_requested (延期), reopened (重办), merged (并单).
import type { Role } from '../auth/types';
import { ConflictError, ForbiddenError } from '../infra/errors';
import { isStatus, STATUS_LABELS, type CaseStatus } from '../case-model/status';

export interface Transition {
  from: readonly CaseStatus[];
  /** Target status; 'same' keeps the status (a logged action such as a progress note on an in-progress case). */
  to: CaseStatus;
  roles: readonly Role[];
  /** What the action is called in messages: 不能「签收」. */
  label: string;
}

const DEPT: readonly Role[] = ['department_staff'];
const DISPATCHERS: readonly Role[] = ['dispatcher', 'supervisor', 'admin'];
const CALLBACK_ROLES: readonly Role[] = ['agent', 'supervisor', 'admin'];

export const TRANSITIONS = {
  dispatch: { from: ['draft', 'returned'], to: 'dispatched', roles: ['agent', ...DISPATCHERS], label: '派单' },
  recall: { from: ['dispatched'], to: 'draft', roles: DISPATCHERS, label: '撤回派单' },
  sign: { from: ['dispatched', 'reopened'], to: 'signed', roles: DEPT, label: '签收' },
  progress: { from: ['signed', 'in_progress'], to: 'in_progress', roles: DEPT, label: '填写办理进展' },
  resolve: { from: ['signed', 'in_progress', 'extension_requested'], to: 'resolved', roles: DEPT, label: '办结' },
  return: { from: ['dispatched', 'signed', 'in_progress'], to: 'returned', roles: DEPT, label: '退单' },
  request_extension: { from: ['signed', 'in_progress'], to: 'extension_requested', roles: DEPT, label: '申请延期' },
  approve_extension: { from: ['extension_requested'], to: 'in_progress', roles: DISPATCHERS, label: '批准延期' },
  refuse_extension: { from: ['extension_requested'], to: 'in_progress', roles: DISPATCHERS, label: '驳回延期' },
  start_callback: { from: ['resolved'], to: 'callback', roles: CALLBACK_ROLES, label: '开始回访' },
  callback_close: { from: ['resolved', 'callback'], to: 'closed', roles: CALLBACK_ROLES, label: '回访结案' },
  callback_reopen: { from: ['resolved', 'callback'], to: 'reopened', roles: CALLBACK_ROLES, label: '回访不满意重办' },
  // One of several residents called back (并单): the case stays in callback until every one of them is.
  callback_partial: { from: ['resolved', 'callback'], to: 'callback', roles: CALLBACK_ROLES, label: '回访' },
  merge: { from: ['draft', 'returned'], to: 'merged', roles: DISPATCHERS, label: '并单' },
} as const satisfies Record<string, Transition>;

export type CaseAction = keyof typeof TRANSITIONS;

/** 403 when the role may never do this action. */
export function assertRole(action: CaseAction, role: Role): void {
  const t: Transition = TRANSITIONS[action];
  if (!t.roles.includes(role)) throw new ForbiddenError(`当前角色无权${t.label}`);
}

/** 409 illegal_transition when the case's status does not allow the action; returns the target status. */
export function nextStatus(action: CaseAction, status: string): CaseStatus {
  const t: Transition = TRANSITIONS[action];
  if (!(t.from as readonly string[]).includes(status)) {
    const label = isStatus(status) ? STATUS_LABELS[status] : status;
    const allowed = t.from.map((s) => `「${STATUS_LABELS[s]}」`).join('、');
    throw new ConflictError(
      `工单当前状态为「${label}」，不能${t.label}（只有${allowed}状态的工单可以${t.label}）`,
      'illegal_transition',
      { status, action },
    );
  }
  return t.to;
}
