// The statuses of a work order (工单, DESIGN §4) and how they are shown. The vocabulary every side shares (cases,
// departments, callbacks, dispatch); which action moves a case from one status to another is cases/state.ts.
// Direction rule: this module imports no domain, so departments (below cases) can speak of cases without importing them.
export const STATUSES = [
  'draft', 'dispatched', 'signed', 'in_progress', 'resolved', 'callback', 'closed',
  'returned', 'extension_requested', 'reopened', 'merged',
] as const;
export type CaseStatus = (typeof STATUSES)[number];

export const STATUS_LABELS: Record<CaseStatus, string> = {
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
};

/** Statuses a department is working on (the SLA clock runs). */
export const OPEN_STATUSES: readonly CaseStatus[] = ['dispatched', 'reopened', 'signed', 'in_progress', 'extension_requested'];
/** Waiting in a department's transfer queue. */
export const QUEUED_STATUSES: readonly CaseStatus[] = ['dispatched', 'reopened'];

export function isStatus(s: string): s is CaseStatus {
  return (STATUSES as readonly string[]).includes(s);
}
