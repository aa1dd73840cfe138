// A work order as the API shows it: the DTO and its TypeBox schema (the one source of validation and docs), shared by
// the routes of cases, departments and callbacks. cases/service.ts maps rows to it (toCaseDto).
import { Type } from 'typebox';
import { Nullable } from '../http/schemas';
import { STATUSES } from './status';

export interface CaseDto {
  id: number;
  trackingNo: string;
  status: string;
  statusLabel: string;
  channel: string;
  urgency: 'normal' | 'urgent';
  categoryId: number | null;
  categoryName: string | null;
  title: string;
  description: string;
  contactName: string | null;
  contactPhone: string | null;
  callerId: number | null;
  callIds: string[];
  departmentId: number | null;
  departmentCode: string | null;
  departmentName: string | null;
  dispatchNo: number;
  dispatchedAt: string | null;
  signedAt: string | null;
  signedBy: number | null;
  signedByName: string | null;
  resolvedAt: string | null;
  reply: string | null;
  returnReason: string | null;
  slaStartedAt: string | null;
  signDeadline: string | null;
  resolveDeadline: string | null;
  deadlineVersion: number;
  warningLevel: 'yellow' | 'red' | null;
  overdue: boolean;
  extensionUntil: string | null;
  extensionReason: string | null;
  extensionCount: number;
  mergedInto: number | null;
  pendingCallbacks: number;
  closedAt: string | null;
  satisfaction: string | null;
  reopenCount: number;
  createdBy: number | null;
  createdAt: string;
  updatedAt: string;
}

const DateTime = Type.String({ format: 'date-time' });
const NDate = Nullable(DateTime);

export const CaseSchema = Type.Object({
  id: Type.Integer(),
  trackingNo: Type.String({ description: '工单编号，例如 114-20261128-000123' }),
  status: Type.String({ enum: [...STATUSES] }),
  statusLabel: Type.String(),
  channel: Type.String(),
  urgency: Type.String({ enum: ['normal', 'urgent'] }),
  categoryId: Nullable(Type.Integer()),
  categoryName: Nullable(Type.String()),
  title: Type.String(),
  description: Type.String(),
  contactName: Nullable(Type.String()),
  contactPhone: Nullable(Type.String()),
  callerId: Nullable(Type.Integer()),
  callIds: Type.Array(Type.String()),
  departmentId: Nullable(Type.Integer()),
  departmentCode: Nullable(Type.String()),
  departmentName: Nullable(Type.String()),
  dispatchNo: Type.Integer({ description: '派单次数（重新派单、重办时加一）' }),
  dispatchedAt: NDate,
  signedAt: NDate,
  signedBy: Nullable(Type.Integer()),
  signedByName: Nullable(Type.String()),
  resolvedAt: NDate,
  reply: Nullable(Type.String({ description: '答复市民的办理结果' })),
  returnReason: Nullable(Type.String()),
  slaStartedAt: NDate,
  signDeadline: NDate,
  resolveDeadline: NDate,
  deadlineVersion: Type.Integer(),
  warningLevel: Nullable(Type.String({ enum: ['yellow', 'red'] })),
  overdue: Type.Boolean(),
  extensionUntil: NDate,
  extensionReason: Nullable(Type.String()),
  extensionCount: Type.Integer(),
  mergedInto: Nullable(Type.Integer()),
  pendingCallbacks: Type.Integer({ description: '并单转来的市民中尚未回访的人数（回访时须逐一回访）' }),
  closedAt: NDate,
  satisfaction: Nullable(Type.String()),
  reopenCount: Type.Integer(),
  createdBy: Nullable(Type.Integer()),
  createdAt: DateTime,
  updatedAt: DateTime,
});
